/**
 * `npm run bench -- world [--steps N] [--no-year]`: speed of the two-layer QG model (packages/world/src/qg).
 * Reports model steps per second, simulated days per wall-clock second, the FLOP count of the FFTs per
 * step (5 N log2 N per complex FFT of size N; a real 2-D transform = ny/2 packed complex row FFTs of size
 * nx + kept-column complex FFTs of size ny), and the wall and CPU time of a one-year nature run.
 * CPU time is the fairer single-core number on a shared machine.
 */
import { cpus, loadavg } from 'node:os';

import { createRng } from '@alignda/tensor';
import { createQgModel, fft2Flops, generateNatureRun } from '@alignda/world';

function timed<T>(fn: () => T): { value: T; wallS: number; cpuS: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = fn();
  const wallS = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { value, wallS, cpuS: (c.user + c.system) / 1e6 };
}

/** Entry point called by bench/main.ts. */
export function main(args: readonly string[]): Promise<void> {
  const stepsArg = args.indexOf('--steps');
  const steps = stepsArg >= 0 ? Number(args[stepsArg + 1]) : 2000;
  const model = createQgModel();
  const { nx, ny, dtS } = model.params;
  const q = model.randomState(createRng(1), 1e7);
  for (let s = 0; s < 50; s++) model.step(q); // JIT warm-up
  const t = timed(() => {
    for (let s = 0; s < steps; s++) model.step(q);
  });
  const transformsPerStep = 4 * 2 * 5; // RK4 stages x layers x (4 inverse + 1 forward)
  const flopsPerTransform = fft2Flops(nx, ny, model.core.fft.keepCols);
  const flopsPerStep = transformsPerStep * flopsPerTransform;
  const stepsPerS = steps / t.wallS;
  console.log(
    `qg model ${nx} x ${ny}, dt ${dtS} s, IF-RK4, ${cpus()[0]?.model ?? 'cpu'}; load average ${loadavg()[0]?.toFixed(1)}`,
  );
  console.log(`steps: ${steps} in ${t.wallS.toFixed(2)} s wall, ${t.cpuS.toFixed(2)} s cpu`);
  console.log(`steps per second (wall): ${stepsPerS.toFixed(0)}  (cpu: ${(steps / t.cpuS).toFixed(0)})`);
  console.log(`simulated days per wall-clock second: ${((stepsPerS * dtS) / 86_400).toFixed(1)}`);
  console.log(
    `FFT FLOPs per step: ${transformsPerStep} real 2-D transforms x ${flopsPerTransform.toFixed(0)} = ${(flopsPerStep / 1e6).toFixed(2)} MFLOP` +
      ` (5 N log2 N per complex FFT; ${model.core.fft.keepCols} of ${nx / 2 + 1} columns kept) -> ${((flopsPerStep * stepsPerS) / 1e9).toFixed(2)} GFLOP/s in the FFTs`,
  );
  if (!args.includes('--no-year')) {
    let count = 0;
    const y = timed(() => generateNatureRun({ seed: 1, years: 1 }, () => (count += 1)));
    console.log(
      `nature run: 1 year (${count} states, 150-day spin-up included, no I/O) in ${y.wallS.toFixed(1)} s wall, ${y.cpuS.toFixed(1)} s cpu`,
    );
  }
  return Promise.resolve();
}

/** Alias of {@link main} for dispatchers that call `run(args)`. */
export const run = main;
