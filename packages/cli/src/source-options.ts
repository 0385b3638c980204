/** The source flags every data command shares: `--world` / `--dataset`, the nature run's seed and length. */
import { AppError } from '@alignda/errors';
import { TRAIN_PRESETS } from '@alignda/pipelines';
import type { Preset } from '@alignda/pipelines';
import type { SourceChoice } from '@alignda/world';
import { Option } from 'commander';
import type { Command } from 'commander';

import { intArg, positiveArg } from './args.js';

/** The parsed source flags. */
export interface SourceFlags {
  world?: string;
  dataset?: string;
  seed: number;
  years?: number;
}

/** Adds `--world` / `--dataset` to a command (exactly one source; the world defaults to qg). */
export function addSourceOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--world <world>', 'synthetic world (default: qg, unless --dataset)').choices(['qg']),
    )
    .option('--dataset <name>', 'a registered real dataset instead of the synthetic world, e.g. ncep-air')
    .option('--seed <n>', 'nature-run seed (synthetic world)', intArg('--seed', 0), 1)
    .option(
      '--years <y>',
      'simulated years of the nature run (default: 0.5 for ci, 1 for small, 4 for full)',
      positiveArg,
    );
}

/**
 * Resolves the source flags into a source choice (`--world qg` by default; the years default to the preset's).
 * @throws AppError `INVALID_ARGUMENT` when both `--world` and `--dataset` are given
 */
export function sourceChoice(
  opts: SourceFlags,
  preset: Preset,
  onProgress: (stage: string, fraction: number) => void,
): SourceChoice {
  if (opts.world !== undefined && opts.dataset !== undefined)
    throw new AppError('INVALID_ARGUMENT', 'give either --world or --dataset, not both');
  const years = opts.years ?? TRAIN_PRESETS[preset].years;
  return opts.dataset !== undefined
    ? { dataset: opts.dataset, seed: opts.seed, years, onProgress }
    : { world: opts.world ?? 'qg', seed: opts.seed, years, onProgress };
}
