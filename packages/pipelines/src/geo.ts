/** Geostrophic diagnostics of a state: which channels form (z, u, v) levels, and the mean deviation over them. */
import { geoScore, geostrophicDeviation } from '@alignda/tensor';
import type { Grid } from '@alignda/tensor';

/** One level with geopotential and both wind components: their channel indices and the level's name. */
export interface GeoLevel {
  readonly z: number;
  readonly u: number;
  readonly v: number;
  readonly name: string;
}

/** Geostrophic levels of a source: channel indices of z, u, v with the same suffix (`z_upper`, `u_upper`, ...). */
export function geoLevels(channels: readonly string[]): GeoLevel[] {
  const out: GeoLevel[] = [];
  channels.forEach((c, z) => {
    const m = /^z(_.+)?$/.exec(c);
    if (!m) return;
    const suffix = m[1] ?? '';
    const u = channels.indexOf(`u${suffix}`);
    const v = channels.indexOf(`v${suffix}`);
    if (u >= 0 && v >= 0) out.push({ z, u, v, name: suffix.replace(/^_/, '') || 'single' });
  });
  return out;
}

/**
 * Geostrophic deviation D of each level of a state (physical units), METHOD.md section 5.
 * @param data - the state, shape [C, H, W]
 */
export function levelDeviations(
  data: Float32Array,
  levels: readonly GeoLevel[],
  grid: Grid,
  shape: readonly [number, number, number],
  validMask?: Uint8Array,
): number[] {
  const HW = shape[1] * shape[2];
  const slab = (c: number): { data: Float32Array; shape: number[] } => ({
    data: data.subarray(c * HW, (c + 1) * HW),
    shape: [shape[1], shape[2]],
  });
  return levels.map(
    (l) =>
      geostrophicDeviation(
        slab(l.u),
        slab(l.v),
        slab(l.z),
        grid,
        validMask === undefined ? {} : { mask: validMask },
      ).d,
  );
}

/** Mean of a list (NaN when empty: a source without geostrophic levels). */
export function meanOrNaN(xs: readonly number[]): number {
  return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Mean Geo-Score over levels, 2 sigmoid(-|D - D_truth| / scale) per level; NaN when there is none. */
export function meanGeoScore(dev: readonly number[], devTruth: readonly number[], scale: number): number {
  return dev.length === 0
    ? Number.NaN
    : dev.reduce((s, d, j) => s + geoScore(d, devTruth[j] as number, scale), 0) / dev.length;
}
