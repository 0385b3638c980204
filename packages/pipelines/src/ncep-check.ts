/**
 * Real-data check of 3D-Var on NCEP/NCAR air temperature: a 24 h persistence background, B from train-period
 * statistics and its length scale tuned on the validation (alignment) period (both 2013), assimilating a random 5 %
 * of grid points (noise ~0.5 K) on days of 2014, verified against the withheld reanalysis and, independently,
 * against the Seattle and New York station daily means.
 */
import { fit3DVar } from '@alignda/da';
import type { Var3DCase } from '@alignda/da';
import { AppError } from '@alignda/errors';
import { createRng, denormalise, fitNormStats, normalise } from '@alignda/tensor';
import type { Field, NormStats } from '@alignda/tensor';
import { KNOWN_STATIONS, bilinearOperator } from '@alignda/world';
import type { OpenedDataset, StationFile } from '@alignda/world';

import { assimilate } from './assimilate.js';
import { pickCases } from './cases.js';
import { observe } from './observe.js';
import type { ObserveOptions } from './observe.js';
import { mean } from './stats.js';
import { backgroundTruthPairs } from './var3d-pairs.js';

/** Outcome of {@link runNcepCheck}. */
export interface NcepCheckResult {
  /** Human-readable report lines. */
  readonly lines: string[];
  readonly summary: Record<string, unknown>;
  /** One case's fields for maps (physical units). */
  readonly example?: { readonly truth: Field; readonly background: Field; readonly analysis: Field };
}

const LEAD_STEPS = 4; // 24 h persistence background on 6-hourly data

/**
 * Runs the check on the opened NCEP air-temperature dataset and the station file.
 * @param days - test days of 2014 (4 analyses each)
 */
export async function runNcepCheck(
  ds: OpenedDataset,
  stations: StationFile,
  onProgress: (stage: string, fraction: number) => void,
  days = 30,
): Promise<NcepCheckResult> {
  const fields = await ds.readRange(0, ds.times.length);
  const [C, H, W] = ds.shape;
  const n = C * H * W;
  const shape = [C, H, W] as const;
  const lines: string[] = [];
  const iso = (d: Date | undefined): string => (d ? d.toISOString().slice(0, 13) : '?');
  let lo = Infinity;
  let hi = -Infinity;
  for (const f of fields)
    for (let i = 0; i < n; i++)
      if (ds.validMask[i % (H * W)]) {
        const v = f.data[i] ?? Number.NaN;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
  lines.push(
    `${ds.times.length} times ${iso(ds.times[0])} .. ${iso(ds.times.at(-1))}, stored ` +
      `${ds.sourceGrid.latDeg.length} x ${ds.sourceGrid.lonDeg.length} placed in ${H} x ${W}, ` +
      `${lo.toFixed(1)} .. ${hi.toFixed(1)} K`,
  );

  const train = ds.period('train');
  const validation = ds.period('alignment');
  const test = ds.period('test');
  /** The states at `idx`, stacked [idx.length, C, H, W]. */
  const stack = (idx: readonly number[]): Float32Array => {
    const s = new Float32Array(idx.length * n);
    idx.forEach((t, k) => {
      const f = fields[t];
      if (!f) throw new AppError('INVALID_ARGUMENT', `NCEP time index ${t} out of range`);
      s.set(f.data, k * n);
    });
    return s;
  };
  const trainIdx: number[] = [];
  for (let t = train.start + LEAD_STEPS; t < train.end; t += 8) trainIdx.push(t);
  const norm: NormStats = fitNormStats(
    { data: stack(trainIdx), shape: [trainIdx.length, ...shape] },
    { channels: ds.channels, mask: ds.validMask },
  );
  const z = (f: Field | undefined): Float32Array => {
    if (!f) throw new AppError('INVALID_ARGUMENT', 'NCEP time index out of range');
    return normalise({ data: f.data, shape }, norm).data;
  };
  const pairs = await backgroundTruthPairs(
    trainIdx,
    shape,
    (t) => z(fields[t - LEAD_STEPS]),
    (t) => z(fields[t]),
  );
  const rng = createRng(11);
  const noiseK = 0.5;
  const observeOpts: ObserveOptions = {
    layout: 'columns',
    fraction: 0.05,
    noiseStd: noiseK / (norm.std[0] ?? 1),
    validMask: ds.validMask,
  };
  const observeTruth = (truth: Field | undefined) => {
    if (!truth) throw new AppError('INVALID_ARGUMENT', 'NCEP time index out of range');
    return observe({ ...truth, data: z(truth) }, observeOpts, rng);
  };
  // The length scale is chosen on the validation period: not on the pairs B came from, never on the test year.
  const tuneCases: Var3DCase[] = pickCases(validation.start + LEAD_STEPS, validation.end, 6, false).map(
    (t) => ({
      background: z(fields[t - LEAD_STEPS]),
      truth: z(fields[t]),
      obs: observeTruth(fields[t]),
    }),
  );
  const { tuning, bSqrt } = fit3DVar(pairs, tuneCases, ds.grid, {
    lengthScalesM: [250e3, 500e3, 750e3, 1000e3, 1500e3],
    stats: { perLatitude: true },
    validMask: ds.validMask,
    onProgress: (f) => onProgress('ncep: tune length scale', f),
  });
  const span = (p: { start: number; end: number }): string =>
    `${iso(ds.times[p.start]).slice(0, 10)} .. ${iso(ds.times[p.end - 1]).slice(0, 10)}`;
  lines.push(
    `3D-Var: B from ${span(train)}, tuned on ${tuneCases.length} validation cases ${span(validation)}: ` +
      `L = ${tuning.best.lengthScaleM / 1000} km ` +
      `(${tuning.table.map((r) => `${r.lengthScaleM / 1000}:${r.mse.toFixed(3)}`).join(' ')})`,
  );

  // Test days of 2014: analyses at 00, 06, 12, 18 UTC, verified against the withheld reanalysis.
  const points = bilinearOperator(
    ds.grid,
    shape,
    {
      channelIndex: KNOWN_STATIONS.map(() => 0),
      latDeg: KNOWN_STATIONS.map((s) => s.latDeg),
      lonDeg: KNOWN_STATIONS.map((s) => s.lonDeg),
    },
    ds.validMask,
  ).operator;
  const firstDay = Math.ceil((test.start + LEAD_STEPS) / 4) * 4;
  const stride = Math.max(1, Math.floor((test.end - firstDay) / 4 / days));
  const errB: number[] = [];
  const errA: number[] = [];
  const stB: number[] = [];
  const stA: number[] = [];
  let example: { truth: Field; bg: Field; an: Field } | undefined;
  for (let d = 0; d < days; d++) {
    const t0 = firstDay + d * stride * 4;
    if (t0 + 4 > test.end) break;
    const dailyB = new Float64Array(points.size);
    const dailyA = new Float64Array(points.size);
    for (let k = 0; k < 4; k++) {
      const t = t0 + k;
      const truth = fields[t];
      const bgF = fields[t - LEAD_STEPS];
      if (!truth || !bgF) continue;
      const res = await assimilate({ method: '3dvar', background: z(bgF), obs: observeTruth(truth), bSqrt });
      const an: Field = { ...truth, data: denormalise({ data: res.mean, shape }, norm).data };
      errB.push(maskedMse(bgF.data, truth.data, ds.validMask));
      errA.push(maskedMse(an.data, truth.data, ds.validMask));
      const pb = points.apply(bgF.data);
      const pa = points.apply(an.data);
      for (let s = 0; s < points.size; s++) {
        dailyB[s] = (dailyB[s] ?? 0) + (pb[s] ?? 0) / 4;
        dailyA[s] = (dailyA[s] ?? 0) + (pa[s] ?? 0) / 4;
      }
      example ??= { truth, bg: bgF, an };
    }
    const date = ds.times[t0]?.toISOString().slice(0, 10);
    for (let s = 0; s < points.size; s++) {
      const st = KNOWN_STATIONS[points.kept[s] ?? -1];
      const obs = stations.days.find((x) => x.date === date && x.station.id === st?.id);
      if (!obs) continue;
      stB.push((dailyB[s] ?? 0) - obs.tMeanK);
      stA.push((dailyA[s] ?? 0) - obs.tMeanK);
    }
    onProgress('ncep: assimilate 2014 days', (d + 1) / days);
  }
  const rmse = (xs: number[]): number => Math.sqrt(mean(xs));
  const biasRms = (xs: number[]): [number, number] => {
    const b = mean(xs);
    return [b, Math.sqrt(mean(xs.map((x) => (x - b) ** 2)))];
  };
  const [bB, sB] = biasRms(stB);
  const [bA, sA] = biasRms(stA);
  lines.push(
    `${errA.length} analyses on ${errA.length / 4} days of 2014: RMSE vs reanalysis ` +
      `background (24 h persistence) ${rmse(errB).toFixed(2)} K -> 3D-Var ${rmse(errA).toFixed(2)} K`,
  );
  lines.push(
    `vs ${stA.length} station daily means (independent): background bias ${bB.toFixed(2)} K, ` +
      `scatter ${sB.toFixed(2)} K -> analysis bias ${bA.toFixed(2)} K, scatter ${sA.toFixed(2)} K`,
  );
  return {
    lines,
    ...(example === undefined
      ? {}
      : { example: { truth: example.truth, background: example.bg, analysis: example.an } }),
    summary: {
      lengthScaleKm: tuning.best.lengthScaleM / 1000,
      analyses: errA.length,
      rmseBackgroundK: rmse(errB),
      rmseAnalysisK: rmse(errA),
      stationBiasBackgroundK: bB,
      stationScatterBackgroundK: sB,
      stationBiasAnalysisK: bA,
      stationScatterAnalysisK: sA,
    },
  };
}

function maskedMse(a: ArrayLike<number>, b: ArrayLike<number>, mask: Uint8Array): number {
  let s = 0;
  let k = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    s += d * d;
    k++;
  }
  return s / k;
}
