/**
 * Independent verification against station observations: analyses (physical units) are interpolated bilinearly to
 * the stations of the CSV and averaged over the four 6-hourly analyses of each UTC day, then compared with the
 * stations' daily mean temperatures (the CSV holds daily means only). Never assimilated, so a fair check.
 */
import type { Field, Grid } from '@alignda/tensor';
import { KNOWN_STATIONS, bilinearOperator } from '@alignda/world';
import type { StationFile } from '@alignda/world';

import { mean } from './stats.js';

/** Agreement of one method's daily means with the stations. */
export interface StationScore {
  /** Station-days compared. */
  readonly count: number;
  /** Mean of (analysis - station), K. */
  readonly bias: number;
  /** Standard deviation of (analysis - station) about the bias, K. */
  readonly scatter: number;
  /** Root mean square of (analysis - station), K. */
  readonly rmse: number;
}

/** Collects analyses by method and day; {@link StationVerifier.scores} compares complete days. */
export interface StationVerifier {
  /** Adds an analysis valid at `time` (ISO, hour precision or finer). */
  add(method: string, time: string, field: Field): void;
  /** Scores per method over the days that had all four analyses and a station value. */
  scores(): Record<string, StationScore>;
  /** Station names used. */
  readonly stations: readonly string[];
}

/**
 * A verifier for the known stations of `file` inside `grid`'s valid area (channel `channel` is temperature in K).
 */
export function createStationVerifier(
  file: StationFile,
  grid: Grid,
  shape: readonly [number, number, number],
  validMask: Uint8Array | undefined,
  channel = 0,
): StationVerifier {
  const { operator } = bilinearOperator(
    grid,
    shape,
    {
      channelIndex: KNOWN_STATIONS.map(() => channel),
      latDeg: KNOWN_STATIONS.map((s) => s.latDeg),
      lonDeg: KNOWN_STATIONS.map((s) => s.lonDeg),
    },
    validMask,
  );
  const stations = Array.from(operator.kept, (k) => KNOWN_STATIONS[k]);
  // method -> date -> { hours seen, sum of point values }
  const acc = new Map<string, Map<string, { hours: Set<string>; sum: Float64Array }>>();
  return {
    stations: stations.map((s) => s?.id ?? '?'),
    add(method, time, field) {
      const date = time.slice(0, 10);
      const byDay = acc.get(method) ?? new Map<string, { hours: Set<string>; sum: Float64Array }>();
      acc.set(method, byDay);
      const day = byDay.get(date) ?? { hours: new Set<string>(), sum: new Float64Array(operator.size) };
      byDay.set(date, day);
      if (day.hours.has(time)) return;
      day.hours.add(time);
      const p = operator.apply(field.data);
      for (let s = 0; s < operator.size; s++) day.sum[s] = (day.sum[s] as number) + (p[s] as number);
    },
    scores() {
      const out: Record<string, StationScore> = {};
      for (const [method, byDay] of acc) {
        const diffs: number[] = [];
        for (const [date, day] of byDay) {
          if (day.hours.size !== 4) continue;
          stations.forEach((st, s) => {
            const obs = file.days.find((d) => d.date === date && d.station.id === st?.id);
            if (obs) diffs.push((day.sum[s] as number) / 4 - obs.tMeanK);
          });
        }
        const bias = mean(diffs);
        out[method] = {
          count: diffs.length,
          bias,
          scatter: Math.sqrt(mean(diffs.map((d) => (d - bias) ** 2))),
          rmse: Math.sqrt(mean(diffs.map((d) => d * d))),
        };
      }
      return out;
    },
  };
}
