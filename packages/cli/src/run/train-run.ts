/**
 * `alignda train` as a CLI run: opens the source, trains into a model folder with progress bars and Ctrl-C
 * (the checkpoint is kept; the same command continues), and prints what each model reached and its held-out skill.
 * The demo runs it too.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';

import { loadConfig } from '@alignda/config';
import { fileModelStore } from '@alignda/nn';
import {
  BACKGROUND_LEAD_STEPS,
  defaultBackground,
  modelSetName,
  trainLatentModels,
} from '@alignda/pipelines';
import type { BackgroundKind, ModelName, ModelReport, Preset, TrainOutcome } from '@alignda/pipelines';
import { openSource, sourceStepHours } from '@alignda/world';

import { childProcessTrainer } from '../adapters/local-scheduler.js';
import { fmt } from '../format.js';
import { createProgress } from '../progress.js';
import { sourceChoice } from '../source-options.js';
import type { SourceFlags } from '../source-options.js';

/** Options of `alignda train`. */
export interface TrainRunOptions extends SourceFlags {
  preset: Preset;
  /** The backgrounds the score network learns from. @defaultValue the source's (defaultBackground) */
  background?: BackgroundKind;
  model: ModelName | 'all';
  steps?: number;
  out?: string;
  /** Processes for `--model all`: 2 trains the emulator in a child process beside the VAE. @defaultValue 1 */
  jobs?: number;
}

/** The model folder of a source, preset and background kind: `<home>/models/<source>-<preset>-<background>`. */
export function modelDir(homeDir: string, source: string, preset: string, background: string): string {
  return path.join(homeDir, 'models', modelSetName(source, preset, background));
}

/** One line per model: steps, time, losses and the checkpoint (or why it did not train). */
function modelLine(r: ModelReport): string {
  if (!r.completed)
    return `${r.model}: interrupted at step ${r.step}, checkpoint ${r.checkpoint}; re-run to continue`;
  if (r.stepsRun === 0) return `${r.model}: already trained (${r.step} steps), ${r.checkpoint}`;
  const from = r.resumedFrom > 0 ? ` (resumed at step ${r.resumedFrom})` : '';
  const held =
    r.heldOutLoss === undefined ? '' : `, ${r.heldOutPeriod}-period batch loss ${fmt(r.heldOutLoss)}`;
  return (
    `${r.model}: ${r.step} steps${from} in ${r.seconds.toFixed(1)} s; train loss (last ${r.recentSteps}) ` +
    `${fmt(r.trainLoss)}${held}; ${r.checkpoint}`
  );
}

/** The held-out skill lines of a finished run (alignment period: training never reads the test period). */
function skillLines(o: TrainOutcome, leadHours: number): string[] {
  const cells = o.masked ? ', valid cells' : '';
  const lines: string[] = [];
  const { vae, emulator, score } = o.skill;
  if (vae !== undefined)
    lines.push(
      `VAE reconstruction MSE on ${vae.count} ${o.heldOutPeriod}-period states (normalised${cells}): ${fmt(vae.mse)} vs variance ${fmt(vae.variance)} (${((100 * vae.mse) / vae.variance).toFixed(2)} %)`,
    );
  if (emulator !== undefined)
    lines.push(
      `emulator ${leadHours} h (${BACKGROUND_LEAD_STEPS}-step rollout) MSE on ${emulator.cases} ${o.heldOutPeriod}-period cases (normalised${cells}): ${fmt(emulator.mse)} vs persistence ${fmt(emulator.persistence)} (ratio ${(emulator.mse / emulator.persistence).toFixed(3)})`,
    );
  if (score !== undefined)
    lines.push(
      `score network: ${score.pairs} (truth, ${leadHours} h background) latent pairs; latent std ${score.latentStd.map((v) => v.toFixed(2)).join(' ')}`,
    );
  return lines;
}

/** Runs `alignda train`; sets exit code 130 when Ctrl-C stopped a model. */
export async function runTrain(opts: TrainRunOptions): Promise<void> {
  const config = loadConfig();
  const progress = createProgress();
  const src = await openSource(
    config,
    sourceChoice(opts, opts.preset, (s, f) => progress.update(s, f)),
  );
  progress.stop();
  const background = opts.background ?? defaultBackground(src);
  const out = path.resolve(opts.out ?? modelDir(config.homeDir, src.name, opts.preset, background));
  mkdirSync(out, { recursive: true });
  const span = (p: readonly [number, number] | undefined): number => (p === undefined ? 0 : p[1] - p[0]);
  const { train, alignment, test } = src.periods;
  console.log(
    `${src.title}: ${src.count} states (train ${span(train)}, ${alignment !== undefined ? `alignment ${span(alignment)}, ` : ''}test ${span(test)}); score network on ${BACKGROUND_LEAD_STEPS * sourceStepHours(src)} h ${background} backgrounds; out ${out}`,
  );
  const ctl = new AbortController();
  const onSigint = (): void => ctl.abort();
  process.once('SIGINT', onSigint);
  try {
    const outcome = await trainLatentModels(
      src,
      fileModelStore(out),
      {
        preset: opts.preset,
        model: opts.model,
        seed: opts.seed,
        background,
        signal: ctl.signal,
        ...(opts.steps === undefined ? {} : { steps: opts.steps }),
        onProgress: (s, f) => progress.update(s, f),
        onModel: (r) => {
          progress.stop();
          console.log(modelLine(r));
        },
      },
      opts.model === 'all' && (opts.jobs ?? 1) >= 2
        ? childProcessTrainer({
            preset: opts.preset,
            seed: opts.seed,
            out,
            background,
            ...(opts.dataset !== undefined ? { dataset: opts.dataset } : { world: opts.world ?? 'qg' }),
            ...(opts.years === undefined ? {} : { years: opts.years }),
            ...(opts.steps === undefined ? {} : { steps: opts.steps }),
          })
        : undefined,
    );
    progress.stop();
    if (!outcome.completed) {
      process.exitCode = 130; // 128 + SIGINT, as a shell reports an interrupted command
      return;
    }
    for (const l of skillLines(outcome, BACKGROUND_LEAD_STEPS * sourceStepHours(src))) console.log(l);
  } finally {
    process.removeListener('SIGINT', onSigint);
    progress.stop();
  }
}
