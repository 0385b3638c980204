/**
 * A short cycle of one method: the building block of the offline 3D-Var cycle that makes the 6 h pairs and of the
 * tuning cycles on the alignment period (the scored cycle in cycle.ts runs every method side by side instead).
 */
import type { ResolvedCycleOptions } from './cycle-options.js';
import { drawSeed, initialState, observeState, rmse } from './cycle-step.js';
import type { CycleAnalyser, CycleWorld, Perturb, StepOutcome } from './cycle-step.js';

/** What a short cycle needs besides its analyser. */
export interface ShortCycleSpec {
  readonly start: number;
  readonly cycles: number;
  /** Names the random streams: `<stream>:init` and `<stream>:obs`. */
  readonly stream: string;
  readonly perturb: Perturb;
  readonly o: ResolvedCycleOptions;
  readonly onCycle?: (k: number, out: StepOutcome, truth: Float32Array) => void;
}

/** Runs one method over a few cycles; returns its mean analysis MSE over the second half (Infinity if it blew up). */
export async function shortCycle(
  world: CycleWorld,
  method: CycleAnalyser,
  spec: ShortCycleSpec,
): Promise<number> {
  const { o } = spec;
  const x0 = initialState(
    world,
    spec.start,
    drawSeed(o.seed, 0, `${spec.stream}:init`),
    spec.perturb,
    o.initialError,
  );
  let carried = method.init(x0, drawSeed(o.seed, 0, `${spec.stream}:${method.id}`));
  let sum = 0;
  let n = 0;
  for (let k = 0; k < spec.cycles; k++) {
    const from = spec.start + k * world.steps;
    const valid = from + world.steps;
    const obs = observeState(world, valid, o.observe, drawSeed(o.seed, k, `${spec.stream}:obs`));
    const out = await method.step(carried, obs, from, k);
    carried = out.carried;
    const truth = world.truth(valid);
    spec.onCycle?.(k, out, truth);
    if (k >= Math.floor(spec.cycles / 2)) {
      sum += rmse(out.analysis, truth) ** 2;
      n++;
    }
  }
  return Number.isFinite(sum) ? sum / n : Infinity;
}
