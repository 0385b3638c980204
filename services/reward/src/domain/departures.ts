/**
 * Observation-space departures y - H(x) of a batch against one field (pure): H selection for grid cells, bilinear for
 * points (packages/world's operator), NaN for observations not used (QC-flagged, or off the grid), and per-channel
 * statistics (METHOD.md section 7's O-B / O-A).
 */
import type { Grid } from '@alignda/tensor';
import { bilinearOperator } from '@alignda/world';

/** Observations resolved to the dataset's channels, physical units, column-wise (length P each). */
export interface ResolvedObs {
  readonly channel: Int32Array;
  /** Grid cells (selection), or points (bilinear). */
  readonly location:
    | { readonly kind: 'cells'; readonly row: Int32Array; readonly col: Int32Array }
    | { readonly kind: 'points'; readonly latDeg: Float64Array; readonly lonDeg: Float64Array };
  readonly value: Float64Array;
  readonly errorStd: Float64Array;
  /** Whether each observation is used (passed QC). */
  readonly used: readonly boolean[];
}

/** Departure statistics of one channel. */
export interface ChannelDepartures {
  readonly channelIndex: number;
  readonly count: number;
  readonly mean: number;
  readonly rms: number;
  readonly normalisedMean: number;
  readonly normalisedRms: number;
}

/** Departures of a batch against one field. */
export interface Departures {
  /** y - H(x), length P, NaN where not used. */
  readonly departures: Float64Array;
  readonly channels: readonly ChannelDepartures[];
}

/**
 * y - H(x) and its statistics per channel.
 * @param field - x, [C, H, W] flattened, physical units
 */
export function departures(
  obs: ResolvedObs,
  field: ArrayLike<number>,
  grid: Grid,
  validMask?: Uint8Array,
): Departures {
  const P = obs.value.length;
  const H = grid.latDeg.length;
  const W = grid.lonDeg.length;
  const C = field.length / (H * W);
  const hx = new Float64Array(P).fill(Number.NaN);
  const loc = obs.location;
  if (loc.kind === 'cells') {
    for (let p = 0; p < P; p++) {
      const [r, c] = [loc.row[p] as number, loc.col[p] as number];
      if (obs.used[p] === true && r >= 0 && r < H && c >= 0 && c < W && validMask?.[r * W + c] !== 0)
        hx[p] = field[((obs.channel[p] as number) * H + r) * W + c] as number;
    }
  } else {
    const used = [...Array(P).keys()].filter((p) => obs.used[p] === true);
    const { operator } = bilinearOperator(
      grid,
      [C, H, W],
      {
        channelIndex: used.map((p) => obs.channel[p] as number),
        latDeg: used.map((p) => loc.latDeg[p] as number),
        lonDeg: used.map((p) => loc.lonDeg[p] as number),
      },
      validMask,
    );
    const y = operator.apply(field);
    operator.kept.forEach((k, q) => (hx[used[k] as number] = y[q] as number));
  }
  const d = Float64Array.from(obs.value, (v, p) => v - (hx[p] as number));
  const channels: ChannelDepartures[] = [];
  for (let c = 0; c < C; c++) {
    let [count, s, s2, z, z2] = [0, 0, 0, 0, 0];
    for (let p = 0; p < P; p++) {
      const e = d[p] as number;
      if (obs.channel[p] !== c || Number.isNaN(e)) continue;
      const n = e / (obs.errorStd[p] as number);
      count++;
      s += e;
      s2 += e * e;
      z += n;
      z2 += n * n;
    }
    if (count > 0)
      channels.push({
        channelIndex: c,
        count,
        mean: s / count,
        rms: Math.sqrt(s2 / count),
        normalisedMean: z / count,
        normalisedRms: Math.sqrt(z2 / count),
      });
  }
  return { departures: d, channels };
}
