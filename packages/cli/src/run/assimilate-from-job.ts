/**
 * `alignda assimilate --from-job <id>`: the request of a platform job (its Job row in the registry) run again in this
 * process, the way `alignda assimilate` runs any request, and the outcome set beside the job's record: whether this
 * model folder's files are the ones the job's provenance names (SHA-256 of the checkpoints and manifest), and whether
 * the analysis equals the stored one (its netCDF, value for value).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { loadConfig } from '@alignda/config';
import { openDatabase } from '@alignda/db';
import { AppError } from '@alignda/errors';
import { redactUrl } from '@alignda/log';
import { compareModelFiles, modelsProvenance } from '@alignda/nn';
import { parseAssimilationRequest } from '@alignda/pipelines';
import type { AssimilationRequest } from '@alignda/pipelines';
import { readAnalysisNetcdf } from '@alignda/world';

import { compareAnalyses } from './analysis-compare.js';
import type { AnalysisComparison } from './analysis-compare.js';
import { assimilateRequest } from './assimilate-run.js';
import type { AssimilateRunOptions } from './assimilate-run.js';

/** Flags that change the request: the job's own request is re-run, so they are refused with --from-job. */
const REQUEST_FLAGS = [
  'obs',
  'world',
  'dataset',
  'time',
  'method',
  'members',
  'steps',
  'seed',
  'corrections',
  'zeta',
  'blend',
  'lengthScaleKm',
] as const;

const flagName = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** What `--from-job` found. */
export interface FromJobOutcome {
  /** The netCDF written. */
  readonly out: string;
  /** Whether this model folder's files are the job's; undefined when the job recorded none. */
  readonly modelsMatch: boolean | undefined;
  /** Whether the analysis equals the stored one; undefined when there was none to compare with. */
  readonly reproduced: boolean | undefined;
}

/** The model files a job's provenance records (`models.files`), or undefined when it records none. */
function recordedModelFiles(provenance: unknown): { name: string; sha256: string }[] | undefined {
  const files = (provenance as { models?: { files?: unknown } } | null)?.models?.files;
  if (!Array.isArray(files) || files.length === 0) return undefined;
  const ok = files.every(
    (f) =>
      typeof (f as { name?: unknown }).name === 'string' &&
      typeof (f as { sha256?: unknown }).sha256 === 'string',
  );
  return ok ? (files as { name: string; sha256: string }[]) : undefined;
}

const num = (v: number): string =>
  v === 0 ? '0' : Math.abs(v) >= 0.01 && Math.abs(v) < 1000 ? v.toFixed(4) : v.toExponential(2);

/** One line on the comparison. */
export function comparisonLine(c: AnalysisComparison): string {
  if (c.mismatches.length > 0) return `not comparable with the stored analysis: ${c.mismatches.join('; ')}`;
  const kinds = c.kinds.join(', ');
  if (c.identical)
    return `reproduced: the analysis equals the stored one bit for bit (${kinds}; ${c.values} values)`;
  const worst = c.differences
    .map((d) => `${d.variable} ${d.differing} of ${d.count} (max |diff| ${num(d.maxAbs)})`)
    .join(', ');
  return `not reproduced: values differ from the stored analysis in ${worst}`;
}

/**
 * Runs `alignda assimilate --from-job`.
 * @param given - options set on the command line (a request flag among them is refused)
 * @throws AppError `INVALID_ARGUMENT` for a request flag, `NOT_FOUND` for an unknown job, the run's errors
 */
export async function runAssimilateFromJob(
  opts: AssimilateRunOptions & { fromJob: string },
  given: ReadonlySet<string>,
): Promise<FromJobOutcome> {
  const refused = REQUEST_FLAGS.filter((f) => given.has(f));
  if (refused.length > 0)
    throw new AppError(
      'INVALID_ARGUMENT',
      `--from-job re-runs the job's own request: drop ${refused.map(flagName).join(', ')}`,
    );
  const id = opts.fromJob;
  const config = loadConfig();
  const db = await openDatabase(config);
  let job;
  let analysis;
  try {
    job = await db.job.findUnique({ where: { id } });
    analysis = job === null ? null : await db.analysis.findUnique({ where: { id } });
  } finally {
    await db.$disconnect();
  }
  if (job === null || job.kind !== 'assimilate')
    throw new AppError(
      'NOT_FOUND',
      `no assimilation job ${id} in the registry at ${redactUrl(config.databaseUrl)}`,
    );
  const { modelVersion, ...request }: AssimilationRequest = parseAssimilationRequest(job.request);
  const provenance: unknown = analysis?.provenance ?? null;
  const version = (provenance as { models?: { version?: unknown } } | null)?.models?.version;
  // The platform's model folder is named by its version (`<home>/models/<source>-<preset>-<background>` by default).
  const versionDir =
    typeof version === 'string' && /^[\w.-]+$/.test(version)
      ? path.join(config.homeDir, 'models', version)
      : undefined;
  const modelDir =
    opts.modelDir ?? (versionDir !== undefined && existsSync(versionDir) ? versionDir : undefined);

  console.log(
    `job ${id}: ${job.status}${job.finishedAt === null ? '' : ` ${job.finishedAt.toISOString()}`}` +
      `${modelVersion === undefined ? '' : `, model version ${modelVersion}`}; re-running its request here`,
  );
  const outcome = await assimilateRequest(
    request,
    { ...opts, ...(modelDir === undefined ? {} : { modelDir }) },
    (homeDir) => path.join(homeDir, 'assimilate', `job-${id}.nc`),
  );

  const recorded = recordedModelFiles(provenance);
  let modelsMatch: boolean | undefined;
  if (recorded === undefined) console.log("models: the job's provenance records no model file hashes");
  else {
    const local = await modelsProvenance(outcome.modelDir);
    const cmp = compareModelFiles(recorded, local.files);
    modelsMatch = cmp.same;
    console.log(
      cmp.same
        ? `models: the job's (${recorded.map((f) => f.name).join(', ')}: SHA-256 equal)`
        : `models: differ from the job's in ${cmp.differing.join(', ')}: the analyses are not expected to match`,
    );
  }

  const paths = (analysis?.artifactPaths ?? {}) as Record<string, unknown>;
  const storedPath =
    opts.stored ??
    (typeof paths.analysis === 'string' ? path.resolve(config.homeDir, paths.analysis) : undefined);
  let reproduced: boolean | undefined;
  if (storedPath === undefined || !existsSync(storedPath)) {
    const why =
      job.status !== 'succeeded'
        ? `the job ${job.status === 'failed' ? 'failed' : `is ${job.status}`}`
        : analysis !== null && analysis.expiredAt !== null
          ? `the stored analysis expired at ${analysis.expiredAt.toISOString()}`
          : storedPath === undefined
            ? 'the job records no analysis file'
            : `${storedPath} is not here`;
    console.log(
      `not compared: ${why}; give --stored <file> (GET /v1/assimilations/${id}/analysis?members=true&background=true)`,
    );
  } else {
    const comparison = compareAnalyses(
      readAnalysisNetcdf(readFileSync(storedPath)),
      readAnalysisNetcdf(outcome.bytes),
    );
    reproduced = comparison.identical;
    console.log(`stored analysis: ${storedPath}`);
    console.log(comparisonLine(comparison));
  }
  return { out: outcome.out, modelsMatch, reproduced };
}
