import { gaspariCohn } from './gaspari-cohn.js';
import { fmtShape, invalidArgument } from './internal/errors.js';

/** The observations one local analysis uses, with their localisation weights. */
export interface LocalObservations {
  /** Indices into the observation set, length p_l (may be 0: the batch is left to the prior). */
  readonly obsIndex: Int32Array;
  /** Weight in (0, 1] of each, length p_l: R^-1 is multiplied by it (observation-error localisation). */
  readonly weight: Float64Array;
}

/**
 * Where the LETKF's local analyses are: batches of state points analysed with one transform, and each batch's
 * local observations. Built once per geometry and reused every cycle.
 */
export interface LetkfLocalisation {
  /** Number of state points per member (prod(stateShape)) the batches cover. */
  readonly stateSize: number;
  /** Number of observations P the local sets index into. */
  readonly obsSize: number;
  /** Batches of flat state indices; every state point in exactly one batch. */
  readonly batches: readonly Int32Array[];
  /** The local observations of batch `b`, one per batch in the same order. */
  readonly local: readonly LocalObservations[];
}

/** Options of {@link gaspariCohnLocalisation}. */
export interface GaspariCohnLocalisationOptions {
  /** Number of state points per member, prod(stateShape). */
  readonly stateSize: number;
  /** Number of observations P. */
  readonly obsSize: number;
  /** Distance between state point `i` (flat index) and observation `p`, >= 0, in the units of `halfWidth`. */
  readonly distance: (statePoint: number, obs: number) => number;
  /**
   * Gaspari-Cohn half-width c > 0 (weights vanish at distances >= 2c); Infinity weights every observation 1, the
   * global ETKF. DAPPER's `loc_rad` L is the matching Gaussian length: c = 1.82 L (its `localization.dist2coeff`).
   */
  readonly halfWidth: number;
  /**
   * State points analysed together; a batch's distance to an observation is the mean over its points (DAPPER's
   * `localization_setup`). @defaultValue one batch per state point (Hunt et al. 2007)
   */
  readonly batches?: readonly Int32Array[];
  /** Weights at or below this are dropped. @defaultValue 0 (DAPPER drops <= 1e-3) */
  readonly minWeight?: number;
}

/**
 * Gaspari-Cohn observation-error localisation for the LETKF (Hunt, Kostelich & Szunyogh 2007, section 2.3 and
 * its "R-localization"; Greybush et al. 2011, MWR 139): each batch uses the observations whose tapered weight
 * gaspariCohn(distance, halfWidth) exceeds `minWeight`, with R^-1 multiplied by that weight.
 */
export function gaspariCohnLocalisation(options: GaspariCohnLocalisationOptions): LetkfLocalisation {
  const fn = 'gaspariCohnLocalisation';
  const { stateSize: n, obsSize: P, distance, halfWidth } = options;
  const minWeight = options.minWeight ?? 0;
  if (!(halfWidth > 0)) {
    throw invalidArgument(
      fn,
      `the localisation radius (Gaspari-Cohn half-width) must be > 0 (Infinity for none), got ${halfWidth}`,
    );
  }
  if (!Number.isInteger(n) || n < 1) throw invalidArgument(fn, `stateSize must be an integer >= 1, got ${n}`);
  if (!Number.isInteger(P) || P < 1) throw invalidArgument(fn, `obsSize must be an integer >= 1, got ${P}`);
  if (!(minWeight >= 0 && minWeight < 1))
    throw invalidArgument(fn, `minWeight must be in [0, 1), got ${minWeight}`);
  const batches = options.batches ?? Array.from({ length: n }, (_, i) => Int32Array.of(i));
  checkBatches(fn, batches, n);
  const local = batches.map((batch) => {
    const idx: number[] = [];
    const w: number[] = [];
    for (let p = 0; p < P; p++) {
      let d = 0;
      for (const i of batch) {
        const di = distance(i, p);
        if (!(di >= 0)) throw invalidArgument(fn, `distance(${i}, ${p}) is ${di}; distances must be >= 0`);
        d += di / batch.length;
      }
      const weight = gaspariCohn(d, halfWidth);
      if (weight > minWeight) {
        idx.push(p);
        w.push(weight);
      }
    }
    return { obsIndex: Int32Array.from(idx), weight: Float64Array.from(w) };
  });
  return { stateSize: n, obsSize: P, batches, local };
}

/** Throws unless `batches` partition 0..n-1: no point missing, none twice, none outside. */
export function checkBatches(fn: string, batches: readonly Int32Array[], n: number): void {
  const seen = new Uint8Array(n);
  batches.forEach((batch, b) => {
    if (batch.length === 0) throw invalidArgument(fn, `batch ${b} is empty`);
    for (const i of batch) {
      if (i < 0 || i >= n)
        throw invalidArgument(fn, `batch ${b} holds state point ${i}, outside the state (0..${n - 1})`);
      if (seen[i]) throw invalidArgument(fn, `state point ${i} is in more than one batch`);
      seen[i] = 1;
    }
  });
  const missing = seen.indexOf(0);
  if (missing >= 0) throw invalidArgument(fn, `state point ${missing} is in no batch`);
}

/** The global analysis: one batch of every state point using every observation at weight 1. */
export function globalLocalisation(n: number, P: number): LetkfLocalisation {
  return {
    stateSize: n,
    obsSize: P,
    batches: [Int32Array.from({ length: n }, (_, i) => i)],
    local: [{ obsIndex: Int32Array.from({ length: P }, (_, p) => p), weight: new Float64Array(P).fill(1) }],
  };
}

/** Throws unless `loc` fits a state of n points and P observations, naming what does not fit. */
export function checkLocalisation(
  fn: string,
  loc: LetkfLocalisation,
  n: number,
  P: number,
  stateShape: readonly number[],
): void {
  if (loc.stateSize !== n) {
    throw invalidArgument(
      fn,
      `the localisation covers ${loc.stateSize} state points but the state shape ${fmtShape(stateShape)} has ${n}`,
    );
  }
  if (loc.obsSize !== P)
    throw invalidArgument(fn, `the localisation indexes ${loc.obsSize} observations but there are ${P}`);
  if (loc.local.length !== loc.batches.length) {
    throw invalidArgument(
      fn,
      `the localisation has ${loc.batches.length} batches but ${loc.local.length} local observation sets`,
    );
  }
  checkBatches(fn, loc.batches, n);
  loc.local.forEach((l, b) => {
    if (l.weight.length !== l.obsIndex.length) {
      throw invalidArgument(
        fn,
        `batch ${b} has ${l.obsIndex.length} local observations but ${l.weight.length} weights`,
      );
    }
    for (let q = 0; q < l.obsIndex.length; q++) {
      const o = l.obsIndex[q] as number;
      const w = l.weight[q] as number;
      if (o < 0 || o >= P) throw invalidArgument(fn, `batch ${b} uses observation ${o}, outside 0..${P - 1}`);
      if (!(w > 0 && w <= 1))
        throw invalidArgument(fn, `batch ${b} weights observation ${o} by ${w}, not in (0, 1]`);
    }
  });
}

/** Whether two local sets use the same observations with the same weights (then they share a transform). */
export function sameLocalSet(x: LocalObservations, y: LocalObservations): boolean {
  if (x === y) return true;
  const p = x.obsIndex.length;
  if (y.obsIndex.length !== p) return false;
  for (let q = 0; q < p; q++)
    if (x.obsIndex[q] !== y.obsIndex[q] || x.weight[q] !== y.weight[q]) return false;
  return true;
}
