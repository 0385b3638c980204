/**
 * The shape every consumer of states reads — training, evaluation, assimilation — whatever the states come from:
 * the synthetic QG world (a cached nature run) or a registered real dataset. Declared here, in the package that
 * owns the sources, so nothing in world depends on the packages that read it.
 */
import type { Field, Grid } from '@alignda/tensor';

import type { OpenedDataset } from '../dataset/open-dataset.js';
import type { NatureRun } from '../nature/nature-store.js';

/** What the training pipelines read from a source of states (`NatureRun` satisfies it). */
export interface StateSource {
  /** Channel names, length C. */
  readonly channels: readonly string[];
  /** Named periods as [start, end) state indices. */
  readonly periods: {
    readonly train: readonly [number, number];
    readonly alignment?: readonly [number, number];
    readonly test: readonly [number, number];
  };
  /** State `index`, `{ data, shape: [C, H, W] }` in physical units. */
  state(index: number): { readonly data: Float32Array; readonly shape: readonly [number, number, number] };
  /** 1 where a grid cell holds data, `[H, W]` (padded datasets); statistics skip the rest. @defaultValue all cells */
  readonly validMask?: Uint8Array;
  /**
   * UTC hour of day of state `index` (float, [0, 24)), the clock of an emulator with solar forcing.
   * @defaultValue absent — a source without a solar cycle (the synthetic QG world)
   */
  hourOf?(index: number): number;
}

/** Hours between a source's consecutive states: its `stepHours`, 6 when it states none (test fakes). */
export function sourceStepHours(source: { readonly stepHours?: number }): number {
  return source.stepHours ?? 6;
}

/** What a source's dynamics says about balance, for a balanced B (the QG world: f0 and the hypsometric thickness). */
export interface SourceDynamics {
  /** The Coriolis parameter of the dynamics: a constant f0 (1/s), or 2 Omega sin(lat) for real data. */
  readonly coriolis: { readonly kind: 'f0'; readonly f0PerS: number } | { readonly kind: 'latitude' };
  /** Layers whose temperature is their thickness over `thicknessPerKelvin` (J/(kg K)), by channel index. */
  readonly hydrostatic?: readonly {
    readonly t: number;
    readonly zUpper: number;
    readonly zLower: number;
    readonly thicknessPerKelvin: number;
  }[];
}

/** A state source with what assimilation and evaluation need besides the states. */
export interface DaSource extends StateSource {
  /** `qg` or the dataset's registered name; model folders are `<name>-<preset>`. */
  readonly name: string;
  /** One line describing it, for logs. */
  readonly title: string;
  readonly kind: 'world' | 'dataset';
  readonly grid: Grid;
  readonly units: readonly string[];
  /** [C, H, W] */
  readonly shape: readonly [number, number, number];
  /** Number of states, {@link DaSource.stepHours} apart. */
  readonly count: number;
  /**
   * Hours between consecutive states: the QG world's output interval, or the dataset's time step (6 for ncep-air,
   * 24 for a daily dataset).
   * @defaultValue 6 (sources built before datasets of other steps existed, and test fakes)
   */
  readonly stepHours?: number;
  /** The state as a Field (physical units). */
  field(index: number): Field;
  /** ISO time of state `index` (hour precision). */
  timeOf(index: number): string;
  /** The opened dataset, for real data (station verification needs its grid placement). */
  readonly dataset?: OpenedDataset;
  /** The nature run, for the synthetic world (its truth forecast model). */
  readonly nature?: NatureRun;
  /** Balance relations of the source's dynamics. @defaultValue none known */
  readonly dynamics?: SourceDynamics;
}
