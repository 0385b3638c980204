/**
 * `alignda assimilate` as a CLI run: one assimilation job (packages/pipelines `runAssimilationJob`) from an
 * observations file, written as a CF netCDF file (analysis mean, spread and members, background). The request is
 * validated before anything is loaded, so a bad file costs nothing and writes nothing; the model folder is loaded
 * before the source is opened, as eval does; the file is written whole or not at all.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { loadConfig } from '@alignda/config';
import { AppError } from '@alignda/errors';
import { defaultBackground, parseAssimilationRequest, runAssimilationJob } from '@alignda/pipelines';
import type {
  AssimilationJobResult,
  AssimilationRequest,
  BackgroundKind,
  JobMethod,
  Preset,
} from '@alignda/pipelines';
import { fieldsNetcdf, openSource, parseIsoUtc, writeNetcdfClassic } from '@alignda/world';
import type { FieldSet } from '@alignda/world';

import { createProgress } from '../progress.js';
import { sourceChoice } from '../source-options.js';
import { loadModelFolder } from './model-folder.js';
import { modelDir } from './train-run.js';

/** Options of `alignda assimilate`. */
export interface AssimilateRunOptions {
  world?: string;
  dataset?: string;
  /** Nature-run seed (synthetic world). */
  natureSeed: number;
  years?: number;
  preset: Preset;
  /** Model folder. @defaultValue `<home>/models/<source>-<preset>-<background>` */
  modelDir?: string;
  background?: BackgroundKind;
  /** The analysis time, ISO 8601 UTC. */
  time?: string;
  /** JSON file: the request's `observations`, or a whole request body. Not with `fromJob`. */
  obs?: string;
  method: JobMethod;
  members: number;
  steps: number;
  /** The sampler seed (the request's `seed`). */
  seed: number;
  corrections?: number;
  zeta?: number;
  blend?: number;
  lengthScaleKm?: number;
  /** The netCDF file to write. @defaultValue `<home>/assimilate/<source>-<time>-<method>.nc` */
  out?: string;
  /** Re-run the request of this platform job (read from the registry) and compare with its stored analysis. */
  fromJob?: string;
  /** With `fromJob`: a copy of the job's stored analysis to compare with. @defaultValue `<home>/<its recorded path>` */
  stored?: string;
}

/** The request fields a command-line flag sets, by option name. */
const FLAG_FIELDS = ['time', 'method', 'members', 'steps', 'seed'] as const;

/**
 * The request of the run: the file's observations with the flags, or the file's whole body with the flags given on
 * the command line overriding its fields.
 * @param given - options set on the command line (not defaults)
 * @throws AppError `NOT_FOUND` for a missing file, `INVALID_ARGUMENT` for a file that is not JSON or not a valid
 *   request
 */
export function readRequest(opts: AssimilateRunOptions, given: ReadonlySet<string>): AssimilationRequest {
  if (opts.obs === undefined)
    throw new AppError('INVALID_ARGUMENT', 'give --obs <file> (the observations), or --from-job <id>');
  let text: string;
  try {
    text = readFileSync(opts.obs, 'utf8');
  } catch (err) {
    throw new AppError('NOT_FOUND', `cannot read the observations file ${opts.obs}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new AppError('INVALID_ARGUMENT', `${opts.obs} is not valid JSON: ${why}`, { cause: err });
  }
  const whole = typeof json === 'object' && json !== null && 'observations' in json;
  const body: Record<string, unknown> = whole
    ? { ...(json as Record<string, unknown>) }
    : { observations: json };
  if (opts.world !== undefined && opts.dataset !== undefined)
    throw new AppError('INVALID_ARGUMENT', 'give either --world or --dataset, not both');
  const flagSource = opts.dataset !== undefined ? { dataset: opts.dataset } : { world: opts.world ?? 'qg' };
  if (!whole || opts.world !== undefined || opts.dataset !== undefined) body.source = flagSource;
  const flags: Record<(typeof FLAG_FIELDS)[number], unknown> = {
    time: opts.time,
    method: opts.method,
    members: opts.members,
    steps: opts.steps,
    seed: opts.seed,
  };
  for (const f of FLAG_FIELDS) {
    if (whole && !given.has(f)) continue;
    if (flags[f] !== undefined) body[f === 'time' ? 'validTime' : f] = flags[f];
  }
  if (body.validTime === undefined)
    throw new AppError(
      'INVALID_ARGUMENT',
      `give --time <ISO> (the analysis time), or validTime in ${opts.obs}`,
    );
  try {
    return parseAssimilationRequest(body);
  } catch (err) {
    if (err instanceof AppError) throw new AppError(err.code, `${opts.obs}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** The netCDF contents of a job's result: mean, spread, members (when more than one) and background. */
/** The background's lead in hours: from its start state to the valid time (48 on 6-hourly data, 192 on daily). */
function leadHoursOf(res: Pick<AssimilationJobResult, 'validTime' | 'backgroundStartTime'>): number {
  return (parseIsoUtc(res.validTime) - parseIsoUtc(res.backgroundStartTime)) / 3_600_000;
}

function analysisFile(
  res: AssimilationJobResult,
  request: AssimilationRequest,
  validMask?: Uint8Array,
): Uint8Array {
  const { grid, channels, units } = res.mean;
  const M = request.members;
  const sets: FieldSet[] = [
    { suffix: '', description: `${request.method} analysis (member mean) of`, data: res.mean.data },
    ...(res.spread === undefined
      ? []
      : [
          {
            suffix: '_spread',
            description: 'member standard deviation of',
            data: res.spread.data,
            isQuantity: false,
          },
        ]),
    ...(res.members === undefined || M < 2
      ? []
      : [
          {
            suffix: '_members',
            description: `${request.method} analysis member of`,
            data: res.members,
            members: M,
          },
        ]),
    {
      suffix: '_background',
      description: `${leadHoursOf(res)} h background forecast of`,
      data: res.background.data,
    },
  ];
  const d = res.diagnostics;
  return writeNetcdfClassic(
    fieldsNetcdf({
      grid,
      channels,
      units,
      time: res.validTime,
      sets,
      ...(validMask === undefined ? {} : { validMask }),
      attributes: {
        title: `alignda ${request.method} analysis`,
        source: 'alignda assimilate',
        method: request.method,
        members: { type: 'int', values: [M] },
        steps: { type: 'int', values: [request.steps] },
        seed: request.seed,
        background: `${res.backgroundKind === 'model' ? 'physical model' : 'emulator'} ${leadHoursOf(res)} h forecast from ${res.backgroundStartTime}`,
        observations: { type: 'int', values: [d.count] },
        omb_rms_normalised: d.omb.rms,
        oma_rms_normalised: d.oma.rms,
      },
    }),
  );
}

const num = (v: number): string =>
  Math.abs(v) >= 1000 || Math.abs(v) < 0.01 ? v.toExponential(2) : v.toFixed(3);

/** Runs `alignda assimilate`; returns the path written. */
export async function runAssimilate(opts: AssimilateRunOptions, given: ReadonlySet<string>): Promise<string> {
  return (await assimilateRequest(readRequest(opts, given), opts)).out;
}

/** What {@link assimilateRequest} did. */
export interface AssimilateOutcome {
  /** The netCDF written. */
  readonly out: string;
  readonly bytes: Uint8Array;
  /** The model folder used. */
  readonly modelDir: string;
}

/**
 * Runs `request` in this process with the models of `opts` (its model folder, or the preset's), writes the netCDF and
 * prints the report.
 * @param defaultOut - the file when `opts.out` is unset, from the source's name and the request
 *   @defaultValue `<home>/assimilate/<source>-<time>-<method>.nc`
 */
export async function assimilateRequest(
  request: AssimilationRequest,
  opts: AssimilateRunOptions,
  defaultOut?: (homeDir: string, source: string) => string,
): Promise<AssimilateOutcome> {
  if (request.modelVersion !== undefined)
    throw new AppError(
      'INVALID_ARGUMENT',
      `modelVersion '${request.modelVersion}': the CLI runs the model folder of --model-dir (or the preset's), not registry versions`,
    );
  const config = loadConfig();
  const progress = createProgress();
  const choice = sourceChoice(
    {
      seed: opts.natureSeed,
      ...('world' in request.source ? { world: request.source.world } : { dataset: request.source.dataset }),
      ...(opts.years === undefined ? {} : { years: opts.years }),
    },
    opts.preset,
    (s, f) => progress.update(s, f),
  );
  const name = choice.dataset ?? choice.world ?? 'qg';
  const background =
    opts.background ?? defaultBackground({ kind: choice.dataset !== undefined ? 'dataset' : 'world' });
  const dir = path.resolve(opts.modelDir ?? modelDir(config.homeDir, name, opts.preset, background));
  const how = choice.dataset !== undefined ? `--dataset ${name}` : `--world ${name}`;
  const { models, background: modelBackground } = await loadModelFolder(
    dir,
    'trained models',
    `alignda train ${how} --preset ${opts.preset}`,
  );
  const src = await openSource(config, choice);
  progress.stop();
  const stamp = request.validTime.replace(/[^0-9T]/g, '').slice(0, 11);
  const out = path.resolve(
    opts.out ??
      defaultOut?.(config.homeDir, src.name) ??
      path.join(config.homeDir, 'assimilate', `${src.name}-${stamp}-${request.method}.nc`),
  );

  const abort = new AbortController();
  const onSigint = (): void => abort.abort();
  process.once('SIGINT', onSigint);
  let res: AssimilationJobResult;
  try {
    res = await runAssimilationJob(src, models, request, {
      background,
      modelBackground,
      ...(opts.corrections === undefined ? {} : { corrections: opts.corrections }),
      ...(opts.zeta === undefined ? {} : { zeta: opts.zeta }),
      ...(opts.blend === undefined ? {} : { blend: opts.blend }),
      ...(opts.lengthScaleKm === undefined ? {} : { lengthScaleKm: opts.lengthScaleKm }),
      onProgress: (s, f) => progress.update(s, f),
      signal: abort.signal,
    });
  } finally {
    process.removeListener('SIGINT', onSigint);
    progress.stop();
  }

  const bytes = analysisFile(res, request, src.validMask);
  mkdirSync(path.dirname(out), { recursive: true });
  // Written beside the target and renamed: a reader never sees half a file, and a failure leaves none.
  const partial = `${out}.partial`;
  try {
    writeFileSync(partial, bytes);
    renameSync(partial, out);
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }

  const d = res.diagnostics;
  const t = res.timings;
  console.log(
    `${src.title}; models ${dir}; ${request.method}, ${request.members} member(s) x ${request.steps} steps, seed ${request.seed}`,
  );
  console.log(
    `valid ${res.validTime}; background: ${res.backgroundKind === 'model' ? 'physical model' : 'emulator'} ${leadHoursOf(res)} h forecast from ${res.backgroundStartTime}`,
  );
  console.log(
    `observations: ${d.count}; O-B rms ${num(d.omb.rms)}, O-A rms ${num(d.oma.rms)} (normalised; mean ${num(d.omb.mean)} -> ${num(d.oma.mean)})`,
  );
  for (const c of d.channels) {
    const u = res.mean.units[res.mean.channels.indexOf(c.channel)] ?? '';
    console.log(
      `  ${c.channel}: ${c.count} obs, O-B mean ${num(c.omb.mean)} rms ${num(c.omb.rms)}, O-A mean ${num(c.oma.mean)} rms ${num(c.oma.rms)} ${u}`,
    );
  }
  const parts = [
    `sessions ${t.sessionsS.toFixed(1)}`,
    `background ${t.backgroundS.toFixed(1)}`,
    ...(t.fitS === undefined ? [] : [`B fit ${t.fitS.toFixed(1)}`]),
    ...(t.encodeS === undefined ? [] : [`encode ${t.encodeS.toFixed(1)}`]),
    `analysis ${t.analysisS.toFixed(1)}`,
    `total ${t.totalS.toFixed(1)}`,
  ];
  console.log(`seconds: ${parts.join(', ')}`);
  console.log(`wrote ${out} (${(bytes.length / 1e6).toFixed(2)} MB)`);
  return { out, bytes, modelDir: dir };
}
