/**
 * The ensemble methods of the single-analysis table (issue 11, item 3): the ensemble is N physical-model 48 h
 * forecasts from the truth 48 h earlier plus initial perturbations drawn from the climatological B (the separable
 * B^(1/2) of the same evaluation, scaled), evolved by the model so that they carry the flow's structures, then
 * recentred on the deterministic background so that the LETKF starts from the same background as every other method.
 * The LETKF localises by Gaspari-Cohn on the horizontal distance between grid columns (every channel of a column is
 * analysed together); hybrid EnVar uses the same members' covariance, localised by Gaspari-Cohn between grid cells
 * (the same for every channel), blended with a climatological B.
 */
import { gaspariCohnLocalisation, gaspariCohnSqrt, letkf, solveHybridEnVar } from '@alignda/da';
import type { BSqrt, LetkfLocalisation, LocalisationSqrt, Observations } from '@alignda/da';
import { AppError } from '@alignda/errors';
import { northingM, zonalSpacingM } from '@alignda/tensor';
import type { Grid, Rng } from '@alignda/tensor';

/** Horizontal distance between the cells of a grid, metres (periodic in longitude where the grid is). */
export function cellDistance(grid: Grid): (a: number, b: number) => number {
  const H = grid.latDeg.length;
  const W = grid.lonDeg.length;
  const y = northingM(grid);
  const dx = zonalSpacingM(grid);
  return (a, b) => {
    const ia = Math.floor(a / W);
    const ib = Math.floor(b / W);
    if (ia >= H || ib >= H)
      throw new AppError('INTERNAL', `cellDistance: cell ${Math.max(a, b)} off the grid`);
    let dj = Math.abs((a % W) - (b % W));
    if (grid.periodicLon) dj = Math.min(dj, W - dj);
    const ex = dj * 0.5 * ((dx[ia] as number) + (dx[ib] as number));
    const ey = (y[ia] as number) - (y[ib] as number);
    return Math.sqrt(ex * ex + ey * ey);
  };
}

/**
 * Gaspari-Cohn localisation of gridded observations over grid columns: one local analysis per cell with every
 * channel of it, the observations weighted by their cell's distance.
 * @param shape - [C, H, W]
 * @param halfWidthM - the Gaspari-Cohn half-width c, metres (weights vanish beyond 2c)
 * @throws AppError `INVALID_ARGUMENT` for observations without grid indices (points off the grid)
 */
export function columnLocalisation(
  grid: Grid,
  shape: readonly [number, number, number],
  obs: Observations,
  halfWidthM: number,
): LetkfLocalisation {
  const [C, H, W] = shape;
  const HW = H * W;
  const gridIndex = obs.gridIndex;
  if (gridIndex === undefined)
    throw new AppError(
      'INVALID_ARGUMENT',
      'the LETKF here localises gridded observations (with grid indices) only',
    );
  const distance = cellDistance(grid);
  const batches = Array.from({ length: HW }, (_, cell) =>
    Int32Array.from({ length: C }, (_, c) => c * HW + cell),
  );
  return gaspariCohnLocalisation({
    stateSize: C * HW,
    obsSize: gridIndex.length,
    distance: (i, p) => distance(i % HW, (gridIndex[p] as number) % HW),
    halfWidth: halfWidthM,
    batches,
    minWeight: 1e-3,
  });
}

/**
 * The ensemble of one case: `members` forecasts (by `forecast`, normalised states) of the state 48 h earlier plus
 * `scale` U v (v ~ N(0, I) from `rng`), recentred on `background`.
 * @returns [members, C, H, W] flattened
 */
export async function forecastEnsemble(
  start: Float32Array,
  background: Float32Array,
  bSqrt: BSqrt,
  options: {
    readonly members: number;
    readonly scale: number;
    readonly rng: Rng;
    readonly forecast: (x: Float32Array) => Promise<Float32Array>;
  },
): Promise<Float32Array> {
  const n = background.length;
  const M = options.members;
  if (!Number.isInteger(M) || M < 2)
    throw new AppError('INVALID_ARGUMENT', `an ensemble needs at least 2 members, got ${M}`);
  const out = new Float32Array(M * n);
  const mean = new Float64Array(n);
  for (let m = 0; m < M; m++) {
    const dx = bSqrt.apply(options.rng.fillNormal(new Float64Array(n)));
    const x0 = Float32Array.from(start, (v, k) => v + options.scale * (dx[k] as number));
    const x = await options.forecast(x0);
    out.set(x, m * n);
    for (let k = 0; k < n; k++) mean[k] = (mean[k] as number) + (x[k] as number) / M;
  }
  for (let m = 0; m < M; m++)
    for (let k = 0; k < n; k++)
      out[m * n + k] = (out[m * n + k] as number) - (mean[k] as number) + (background[k] as number);
  return out;
}

/** The LETKF analysis mean and spread of one ensemble. */
export function letkfMean(
  ensemble: Float32Array,
  members: number,
  obs: Observations,
  localisation: LetkfLocalisation,
  inflation: number,
): { mean: Float32Array; spread: number } {
  const n = ensemble.length / members;
  const shape = [members, ...obs.operator.stateShape];
  const a = letkf({ data: ensemble, shape }, obs, { localisation, inflation }).data;
  const mean = new Float32Array(n);
  for (let m = 0; m < members; m++)
    for (let k = 0; k < n; k++) mean[k] = (mean[k] as number) + (a[m * n + k] as number) / members;
  let v = 0;
  for (let m = 0; m < members; m++)
    for (let k = 0; k < n; k++) v += ((a[m * n + k] as number) - (mean[k] as number)) ** 2;
  return { mean, spread: Math.sqrt(v / ((members - 1) * n)) };
}

/**
 * The hybrid EnVar analysis of one ensemble: B = (1 - weight) B_clim + weight P_ens o L, P_ens the sample covariance
 * of `ensemble` [members, C, H, W] (only its perturbations count), L the Gaspari-Cohn localisation `localisation`.
 * @param background - the background the increment is added to (e.g. bias-corrected), [C, H, W]
 */
export function hybridAnalysis(
  ensemble: Float32Array,
  members: number,
  background: Float64Array | Float32Array,
  obs: Observations,
  bClim: BSqrt,
  weight: number,
  localisation: LocalisationSqrt,
): Float32Array {
  const res = solveHybridEnVar({
    background,
    ensemble: { data: ensemble, shape: [members, ...bClim.stateShape] },
    obs,
    bSqrt: bClim,
    weight,
    localisation,
  });
  return Float32Array.from(res.analysis);
}

/**
 * The Gaspari-Cohn square roots of a grid by half-width (metres), each built once ({@link gaspariCohnSqrt}: about
 * 0.1 s on the QG grid) and shared by every case and cycle.
 */
export function localisationSqrts(grid: Grid): (halfWidthM: number) => LocalisationSqrt {
  const cache = new Map<number, LocalisationSqrt>();
  return (halfWidthM) => {
    let s = cache.get(halfWidthM);
    if (s === undefined) {
      s = gaspariCohnSqrt(grid, halfWidthM);
      cache.set(halfWidthM, s);
    }
    return s;
  };
}
