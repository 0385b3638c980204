/**
 * The single-machine scheduler of `alignda train`: trains the emulator in a child `alignda train --model emulator`
 * process (same options and folder) on another core beside the VAE, relaying its report lines with a prefix.
 * Services and workers never use it: they distribute work with BullMQ.
 */
import { spawn } from 'node:child_process';

import { AppError } from '@alignda/errors';
import type { TrainElsewhere } from '@alignda/pipelines';

/** What the child is told: the options of the parent's train run. */
export interface ChildTrainArgs {
  readonly preset: string;
  readonly seed: number;
  readonly out: string;
  readonly background: string;
  readonly world?: string;
  readonly dataset?: string;
  readonly years?: number;
  readonly steps?: number;
}

/** A {@link TrainElsewhere} that runs the CLI's own entry point in a child process. */
export function childProcessTrainer(opts: ChildTrainArgs): TrainElsewhere {
  return (model) => {
    const script = process.argv[1];
    if (script === undefined)
      return Promise.reject(new AppError('INTERNAL', 'train: cannot locate the alignda entry point'));
    const args = [
      ...process.execArgv,
      script,
      'train',
      '--model',
      model,
      '--preset',
      opts.preset,
      '--seed',
      String(opts.seed),
      '--out',
      opts.out,
      '--background',
      opts.background,
      ...(opts.dataset !== undefined ? ['--dataset', opts.dataset] : ['--world', opts.world ?? 'qg']),
      ...(opts.years !== undefined ? ['--years', String(opts.years)] : []),
      ...(opts.steps !== undefined ? ['--steps', String(opts.steps)] : []),
    ];
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stdout.setEncoding('utf8');
      child.stderr.setEncoding('utf8');
      let pending = '';
      child.stdout.on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const l of lines) if (l.trim() !== '') console.log(`[${model} process] ${l}`);
      });
      child.stderr.on('data', (chunk: string) => {
        err = (err + chunk).slice(-4000);
      });
      child.on('error', reject);
      child.on('close', (code) => {
        if (pending.trim() !== '') console.log(`[${model} process] ${pending}`);
        if (code === 0) resolve();
        else {
          const last =
            err
              .trim()
              .split('\n')
              .filter((l) => l.startsWith('alignda:'))
              .at(-1) ?? err.trim().split('\n').at(-1);
          reject(
            new AppError('INTERNAL', `the ${model} training process exited with ${code}: ${last ?? ''}`),
          );
        }
      });
    });
  };
}
