/** Runs bench/dpo_torch.py, the PyTorch peer of the DPO benchmark (bench/dpo.ts). */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { TORCH_MALLOC_ENV, pythonPath } from './engine-torch.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Per-run wall and process CPU milliseconds of one phase. */
export interface PhaseTimes {
  readonly wall: number[];
  readonly cpu: number[];
}

/** What the PyTorch script measured. */
export interface DpoTorchTimings {
  readonly torch: string;
  readonly threads: number;
  /** The BLAS library the PyTorch process mapped (path). */
  readonly blas: string;
  readonly forward: PhaseTimes;
  readonly forward_backward: PhaseTimes;
  readonly train_step: PhaseTimes;
}

/** Options of {@link runDpoTorch}. */
export interface RunDpoTorchOptions {
  /** safetensors file with the parameters `score.*`, the DPO inputs and `__metadata__.config` (JSON). */
  readonly inPath: string;
  /** Where the script writes its f32 and f64 losses, margins and gradients; none when absent. */
  readonly outPath?: string | undefined;
  readonly warmup: number;
  readonly runs: number;
}

/**
 * Runs the PyTorch half with 1 thread (OpenMP, MKL and OpenBLAS) and the malloc settings of
 * {@link TORCH_MALLOC_ENV}; its progress lines pass through to stderr. The environment is inherited otherwise, so
 * `LD_LIBRARY_PATH=<dir with another libblas.so.3>` swaps the BLAS PyTorch's matmuls use. Call `ensureTorch` first.
 */
export function runDpoTorch(o: RunDpoTorchOptions): Promise<DpoTorchTimings> {
  const args = [
    join(here, 'dpo_torch.py'),
    '--in',
    o.inPath,
    '--warmup',
    String(o.warmup),
    '--runs',
    String(o.runs),
  ];
  if (o.outPath !== undefined) args.push('--out', o.outPath);
  const env = {
    ...process.env,
    ...TORCH_MALLOC_ENV,
    OMP_NUM_THREADS: '1',
    MKL_NUM_THREADS: '1',
    OPENBLAS_NUM_THREADS: '1',
  };
  return new Promise((resolve, reject) => {
    const child = spawn(pythonPath(), args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`dpo_torch.py exited with ${code}`));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as DpoTorchTimings);
      } catch (err) {
        reject(new Error(`dpo_torch.py printed no JSON result: ${String(err)}\n${stdout.slice(-500)}`));
      }
    });
  });
}
