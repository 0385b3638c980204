/**
 * Forecast emulator: one 6-hour step `[C, H, W] -> [C, H, W]` as the input plus a residual conv net's increment
 * (METHOD.md section 2, item 3). Rolled out 8 steps for 48 h by the caller, feeding each output back in.
 */
import { GraphBuilder } from '@alignda/graph';
import type { Graph, Value } from '@alignda/graph';
import { conv2d, groupNorm, mse, resBlock, silu } from './layers.js';
import type { Ctx } from './layers.js';
import { trainingGraph } from './model.js';
import type { TrainingGraph } from './model.js';

/** Configuration of the emulator graphs. */
export interface EmulatorConfig {
  /** Field channels C. @defaultValue 7 — the QG world */
  readonly channels: number;
  /** Grid rows H. @defaultValue 32 — the QG world */
  readonly height: number;
  /** Grid columns W (periodic). @defaultValue 64 — the QG world */
  readonly width: number;
  /** Hidden width of the trunk. @defaultValue 32 — the engine benchmark's full-resolution width; cost grows as its square */
  readonly hidden: number;
  /**
   * Residual blocks at full resolution (two 3x3 convs each). @defaultValue 3 — with the input and output convs a
   * receptive-field radius of 8 cells, several times the few cells a 6-hour step moves a synoptic feature
   */
  readonly blocks: number;
  /** GroupNorm groups. @defaultValue 8 — Wu & He */
  readonly groups: number;
  /** Batch size the graphs are built for. @defaultValue 16 — the engine benchmark's batch */
  readonly batch: number;
  /** Seed of the initial parameters. @defaultValue 0 — any fixed value; runs are reproducible from it */
  readonly seed: number;
}

/** Defaults (see each field's reason). */
export const EMULATOR_DEFAULTS: EmulatorConfig = Object.freeze({
  channels: 7,
  height: 32,
  width: 64,
  hidden: 32,
  blocks: 3,
  groups: 8,
  batch: 16,
  seed: 0,
});

/**
 * Presets: `ci` — widths cut to 8/16 and batch 4 so a training step takes well under a second on one core
 * (tests, `--preset ci`); `small` — the defaults; `full` — twice the width and blocks (receptive-field radius 14),
 * meant for a GPU worker.
 */
export const EMULATOR_PRESETS = Object.freeze({
  ci: Object.freeze({ ...EMULATOR_DEFAULTS, hidden: 8, blocks: 1, groups: 4, batch: 4 }),
  small: EMULATOR_DEFAULTS,
  full: Object.freeze({ ...EMULATOR_DEFAULTS, hidden: 64, blocks: 6 }),
}) satisfies Readonly<Record<string, EmulatorConfig>>;

/**
 * The step `x + net(x)`; `net`'s last conv starts at zero, so an untrained emulator is persistence, the
 * strong 6-hour baseline, and training learns the tendency. Parameters `emu.*`.
 * @param x - `[N, C, H, W]`; @returns `[N, C, H, W]`
 */
export function emulatorStep(c: Ctx, cfg: EmulatorConfig, x: Value): Value {
  let h = conv2d(c, 'emu.in', x, cfg.hidden); // [N, hidden, H, W]
  for (let i = 0; i < cfg.blocks; i++) h = resBlock(c, `emu.res${i}`, h, cfg.hidden, cfg.groups);
  h = silu(c, groupNorm(c, 'emu.norm', h, cfg.groups));
  return c.b.add(x, conv2d(c, 'emu.out', h, cfg.channels, { init: { kind: 'zeros' } })); // [N, C, H, W]
}

function fieldShape(cfg: EmulatorConfig): number[] {
  return [cfg.batch, cfg.channels, cfg.height, cfg.width];
}

/** Forward with loss: inputs `x` (state at t) and `y` (state at t + 6 h); outputs `loss` (MSE) and `pred`. */
export function buildEmulatorForward(cfg: EmulatorConfig): Graph {
  const b = new GraphBuilder({ name: 'emulator_train', seed: cfg.seed });
  const c: Ctx = { b, seed: cfg.seed };
  const x = b.input('x', 'float32', fieldShape(cfg));
  const y = b.input('y', 'float32', fieldShape(cfg));
  const pred = emulatorStep(c, cfg, x);
  b.output(mse(c, pred, y), 'loss');
  b.output(pred, 'pred');
  return b.build();
}

/** Training graph: {@link buildEmulatorForward} plus `grad/<param>` for every parameter. */
export function buildEmulatorTraining(cfg: EmulatorConfig): TrainingGraph {
  return trainingGraph(buildEmulatorForward(cfg));
}

/** Inference step: input `x` `[N, C, H, W]`, output `y` `[N, C, H, W]` (6 h later). */
export function buildEmulatorStep(cfg: EmulatorConfig): Graph {
  const b = new GraphBuilder({ name: 'emulator_step', seed: cfg.seed });
  const x = b.input('x', 'float32', fieldShape(cfg));
  b.output(emulatorStep({ b, seed: cfg.seed }, cfg, x), 'y');
  return b.build();
}

/** Initial parameters (`emu.*`), seeded by `cfg.seed`. */
export function emulatorInitialParams(cfg: EmulatorConfig): Record<string, Float32Array | Float64Array> {
  return buildEmulatorForward(cfg).initialParams();
}

/**
 * Inference rollout of `steps` emulator steps in one graph (8 steps = 48 h, the background lead time): input
 * `x`, output `y` = step^steps(x), `[N, C, H, W]`. Parameters `emu.*`, shared with every step.
 */
export function buildEmulatorRollout(cfg: EmulatorConfig, steps: number): Graph {
  if (!Number.isInteger(steps) || steps < 1)
    throw new RangeError(`emulator rollout: steps must be a positive integer, got ${steps}`);
  const b = new GraphBuilder({ name: `emulator_rollout_${steps}`, seed: cfg.seed });
  const c: Ctx = { b, seed: cfg.seed, shared: new Map() };
  let x = b.input('x', 'float32', fieldShape(cfg));
  for (let k = 0; k < steps; k++) x = emulatorStep(c, cfg, x);
  b.output(x, 'y');
  return b.build();
}
