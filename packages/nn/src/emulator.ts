/**
 * Forecast emulator: one 6-hour step `[C, H, W] -> [C, H, W]` as the input plus a residual conv net's increment
 * (METHOD.md section 2, item 3). Rolled out 8 steps for 48 h by the caller, feeding each output back in.
 *
 * Solar forcing (optional, {@link EmulatorConfig.solarLonDeg}): real near-surface fields follow the sun, and a
 * 6-hour step cannot tell from the state alone whether the next 6 hours warm or cool a column. With forcing every
 * graph takes an extra input `hour` `[N]` (UTC hour of the start state) and each step reads two more channels,
 * cos and sin of the local solar time phi = 2 pi hour / 24 + lon (radians), step k of a rollout at hour + 6k.
 * Measured on ncep-air (ci models, 3 training seeds, test year 2014): the 6 h MSE falls from 0.92-0.96 of
 * persistence's to 0.50-0.52; at 48 h, where persistence keeps the diurnal phase, only from 0.99-1.01 to
 * 0.97-1.03 over valid cells (the small net's synoptic skill limits it there).
 * No seasonal (day-of-year) pair: with one training year every calendar day is seen once, so such an input would
 * be confounded with that year's weather; the season is in the state itself (temperature level).
 */
import { AppError } from '@alignda/errors';
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
  /**
   * Longitudes (degrees east) of the W grid columns: when present, the graphs take an input `hour` `[N]` and every
   * step sees the local solar time as two extra input channels (see the module comment). @defaultValue absent —
   * no forcing (the synthetic QG world has no diurnal cycle; its presets leave it out, so their configs and
   * checkpoints are unchanged)
   */
  readonly solarLonDeg?: readonly number[];
}

/** Hours of one emulator step. */
export const EMULATOR_STEP_HOURS = 6;

/** Whether the emulator's graphs take the solar-forcing input `hour` `[N]`. */
export function emulatorTakesHour(cfg: EmulatorConfig): boolean {
  return cfg.solarLonDeg !== undefined;
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
 * The solar forcing channels `[N, 2, H, W]`: cos(phi), sin(phi) with phi = 2 pi hour / 24 + lon (radians), the
 * local solar time as an angle (noon at phi = pi).
 * @param hour - `[N]`, UTC hours
 */
export function solarForcing(c: Ctx, cfg: EmulatorConfig, hour: Value): Value {
  const { b } = c;
  const lon = cfg.solarLonDeg;
  if (lon === undefined)
    throw new AppError('INVALID_ARGUMENT', 'solarForcing: the config has no solarLonDeg');
  const n = hour.shape[0] ?? 0;
  const lonRad = Float32Array.from(lon, (d) => (d * Math.PI) / 180);
  const hourAngle = b.mul(b.reshape(hour, [n, 1, 1, 1]), (2 * Math.PI) / 24); // [N, 1, 1, 1]
  const phi = b.add(hourAngle, b.constant(lonRad, [1, 1, 1, cfg.width])); // [N, 1, 1, W]
  const cs = b.concat([b.cos(phi), b.sin(phi)], 1); // [N, 2, 1, W]
  return b.expand(cs, [n, 2, cfg.height, cfg.width]); // [N, 2, H, W]
}

/**
 * The step `x + net(x)` (with forcing `x + net([x, cos phi, sin phi])`); `net`'s last conv starts at zero, so an
 * untrained emulator is persistence, the strong 6-hour baseline, and training learns the tendency. Parameters
 * `emu.*`.
 * @param x - `[N, C, H, W]`; @returns `[N, C, H, W]`
 * @param hour - `[N]` UTC hour of `x`, required exactly when the config has `solarLonDeg`
 */
export function emulatorStep(c: Ctx, cfg: EmulatorConfig, x: Value, hour?: Value): Value {
  if (emulatorTakesHour(cfg) !== (hour !== undefined))
    throw new AppError(
      'INVALID_ARGUMENT',
      hour === undefined
        ? 'emulatorStep: the config has solar forcing (solarLonDeg) and needs an hour'
        : 'emulatorStep: an hour was given to an emulator without solar forcing',
    );
  const input = hour === undefined ? x : c.b.concat([x, solarForcing(c, cfg, hour)], 1); // [N, C (+2), H, W]
  let h = conv2d(c, 'emu.in', input, cfg.hidden); // [N, hidden, H, W]
  for (let i = 0; i < cfg.blocks; i++) h = resBlock(c, `emu.res${i}`, h, cfg.hidden, cfg.groups);
  h = silu(c, groupNorm(c, 'emu.norm', h, cfg.groups));
  return c.b.add(x, conv2d(c, 'emu.out', h, cfg.channels, { init: { kind: 'zeros' } })); // [N, C, H, W]
}

function fieldShape(cfg: EmulatorConfig): number[] {
  return [cfg.batch, cfg.channels, cfg.height, cfg.width];
}

/** Checks the forcing longitudes and declares the `hour` input `[N]` when the config has forcing. */
function hourInput(b: GraphBuilder, cfg: EmulatorConfig): Value | undefined {
  const lon = cfg.solarLonDeg;
  if (lon === undefined) return undefined;
  if (lon.length !== cfg.width || !lon.every((d) => Number.isFinite(d)))
    throw new AppError(
      'INVALID_ARGUMENT',
      `emulator: solarLonDeg must hold ${cfg.width} finite longitudes (one per column), got ${lon.length}`,
    );
  return b.input('hour', 'float32', [cfg.batch]);
}

/**
 * Forward with loss: inputs `x` (state at t), `y` (state at t + 6 h) and, with forcing, `hour` `[N]` (t's UTC
 * hour); outputs `loss` (MSE) and `pred`.
 */
export function buildEmulatorForward(cfg: EmulatorConfig): Graph {
  const b = new GraphBuilder({ name: 'emulator_train', seed: cfg.seed });
  const c: Ctx = { b, seed: cfg.seed };
  const x = b.input('x', 'float32', fieldShape(cfg));
  const y = b.input('y', 'float32', fieldShape(cfg));
  const pred = emulatorStep(c, cfg, x, hourInput(b, cfg));
  b.output(mse(c, pred, y), 'loss');
  b.output(pred, 'pred');
  return b.build();
}

/** Training graph: {@link buildEmulatorForward} plus `grad/<param>` for every parameter. */
export function buildEmulatorTraining(cfg: EmulatorConfig): TrainingGraph {
  return trainingGraph(buildEmulatorForward(cfg));
}

/** Inference step: input `x` `[N, C, H, W]` (and `hour` `[N]` with forcing), output `y` `[N, C, H, W]` (6 h later). */
export function buildEmulatorStep(cfg: EmulatorConfig): Graph {
  const b = new GraphBuilder({ name: 'emulator_step', seed: cfg.seed });
  const x = b.input('x', 'float32', fieldShape(cfg));
  b.output(emulatorStep({ b, seed: cfg.seed }, cfg, x, hourInput(b, cfg)), 'y');
  return b.build();
}

/** Initial parameters (`emu.*`), seeded by `cfg.seed`. */
export function emulatorInitialParams(cfg: EmulatorConfig): Record<string, Float32Array | Float64Array> {
  return buildEmulatorForward(cfg).initialParams();
}

/**
 * Inference rollout of `steps` emulator steps in one graph (8 steps = 48 h, the background lead time): input
 * `x` (and, with forcing, `hour` `[N]`, the UTC hour of `x`; step k is fed hour + 6k), output `y` =
 * step^steps(x), `[N, C, H, W]`. Parameters `emu.*`, shared with every step.
 */
export function buildEmulatorRollout(cfg: EmulatorConfig, steps: number): Graph {
  if (!Number.isInteger(steps) || steps < 1)
    throw new AppError(
      'INVALID_ARGUMENT',
      `emulator rollout: steps must be a positive integer, got ${steps}`,
    );
  const b = new GraphBuilder({ name: `emulator_rollout_${steps}`, seed: cfg.seed });
  const c: Ctx = { b, seed: cfg.seed, shared: new Map() };
  let x = b.input('x', 'float32', fieldShape(cfg));
  const hour = hourInput(b, cfg);
  for (let k = 0; k < steps; k++)
    x = emulatorStep(c, cfg, x, hour === undefined || k === 0 ? hour : b.add(hour, k * EMULATOR_STEP_HOURS));
  b.output(x, 'y');
  return b.build();
}
