/**
 * Runs bench/engine_torch.py (the PyTorch peer of the engine benchmark), installing Debian's
 * python3-torch with apt-get first when it is missing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * glibc settings for the PyTorch process: keep freed large buffers instead of returning them to the
 * OS every iteration, which otherwise makes stock PyTorch slow and noisy (ENGINE-NOTES.md).
 */
export const TORCH_MALLOC_ENV = {
  MALLOC_MMAP_THRESHOLD_: '4294967296',
  MALLOC_TRIM_THRESHOLD_: '68719476736',
} as const;

/** Debian's interpreter (where apt installs python3-torch), unless ALIGNDA_BENCH_PYTHON says otherwise. */
export function pythonPath(): string {
  return (
    process.env.ALIGNDA_BENCH_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3')
  );
}

function hasTorch(python: string): boolean {
  return spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Makes sure `import torch` works, running `apt-get install -y python3-torch` (after one
 * `apt-get update`) when it does not; retries while another process holds the dpkg lock.
 * @param log - progress lines
 */
export async function ensureTorch(log: (line: string) => void): Promise<void> {
  const python = pythonPath();
  if (hasTorch(python)) return;
  log(`PyTorch missing for ${python}: installing python3-torch with apt-get (a few minutes)`);
  let updated = false;
  for (let attempt = 1; attempt <= 20; attempt++) {
    if (!updated) {
      const u = spawnSync('apt-get', ['update'], { encoding: 'utf8' });
      updated = u.status === 0;
    }
    const r = spawnSync('apt-get', ['install', '-y', 'python3-torch'], {
      encoding: 'utf8',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status === 0) {
      if (hasTorch(python)) return;
      throw new Error(
        `python3-torch is installed but 'import torch' fails for ${python}; point ALIGNDA_BENCH_PYTHON at Debian's /usr/bin/python3`,
      );
    }
    const err = `${r.stderr}`;
    if (/lock/i.test(err)) {
      log(`  dpkg lock held by another process; retrying in 15 s (attempt ${attempt}/20)`);
      await sleep(15_000);
      continue;
    }
    throw new Error(`apt-get install python3-torch failed (exit ${r.status}):\n${err.slice(-2000)}`);
  }
  throw new Error('apt-get install python3-torch: dpkg lock still held after 20 attempts');
}

/** Per-run milliseconds measured by the PyTorch script. */
export interface TorchTimings {
  readonly torch: string;
  readonly threads: number;
  readonly forward: number[];
  readonly forward_backward: number[];
  readonly train_step: number[];
}

/** Options of {@link runTorch}. */
export interface RunTorchOptions {
  /** safetensors file with the weights `<layer>.w|b`, `input` and `target`. */
  readonly inPath: string;
  /** Where the script writes its f32 and f64 losses and gradients; none when absent. */
  readonly outPath?: string;
  readonly warmup: number;
  readonly runs: number;
  readonly lr: number;
  readonly weightDecay: number;
}

/**
 * Runs the PyTorch half with 1 thread and the malloc settings of {@link TORCH_MALLOC_ENV}; its
 * progress lines pass through to stderr.
 */
export function runTorch(o: RunTorchOptions): Promise<TorchTimings> {
  const args = [
    join(here, 'engine_torch.py'),
    '--in',
    o.inPath,
    '--warmup',
    String(o.warmup),
    '--runs',
    String(o.runs),
  ];
  args.push('--lr', String(o.lr), '--weight-decay', String(o.weightDecay));
  if (o.outPath !== undefined) args.push('--out', o.outPath);
  const env = { ...process.env, ...TORCH_MALLOC_ENV, OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  return new Promise((resolve, reject) => {
    const child = spawn(pythonPath(), args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`engine_torch.py exited with ${code}`));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as TorchTimings);
      } catch (err) {
        reject(new Error(`engine_torch.py printed no JSON result: ${String(err)}\n${stdout.slice(-500)}`));
      }
    });
  });
}
