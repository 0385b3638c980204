/**
 * The aligned rows of the latent evaluation (issue 12): which aligned score networks may stand beside a reference,
 * and what their rows say against the reference's on the same cases.
 */
import { AppError } from '@alignda/errors';
import type { ScoreConfig, TrainedModel } from '@alignda/nn';

import type { LatentMode } from './assimilate.js';
import type { EvalCase, MethodScores } from './evaluate.js';
import { holm, mean, pairedGain } from './stats.js';

/** A latent mode run with an aligned score network: `dps@M` is DPS with the prior aligned on preference set M. */
export type AlignedMethodId = `${LatentMode}@${string}`;

/** The latent mode and the model of a row: `dps@M` -> DPS of model M; `dps` -> DPS of the reference (`ref`). */
export function splitMethodId(id: string): { readonly method: string; readonly model: string } {
  const at = id.indexOf('@');
  return at < 0 ? { method: id, model: 'ref' } : { method: id.slice(0, at), model: id.slice(at + 1) };
}

/**
 * An aligned score network evaluated beside the reference: the same VAE, emulator, latent standardisation and
 * guidance strengths, another prior. Names are short (`P`, `M`, `4`): they key the rows (`dps@M`) and the gains.
 */
export interface AlignedScore {
  readonly name: string;
  readonly score: TrainedModel<ScoreConfig>;
}

/** Names of aligned models: short, so that `dps@M` reads in a table and a JSON key. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$/;

/** A config without its batch size (graphs are rebuilt for every ensemble size). */
const shapeOf = (c: ScoreConfig): string => JSON.stringify({ ...c, batch: 0 });

/**
 * Checks that each aligned score network can stand beside `reference`: a valid, unique name other than `ref`, the
 * reference's architecture and its latent standardisation (a copy fine-tuned from it, never another model).
 * @throws AppError INVALID_ARGUMENT for a bad or repeated name; FAILED_PRECONDITION for another architecture or
 *   standardisation
 */
export function checkAligned(reference: TrainedModel<ScoreConfig>, aligned: readonly AlignedScore[]): void {
  const seen = new Set<string>();
  for (const a of aligned) {
    if (!NAME.test(a.name) || a.name === 'ref')
      throw new AppError(
        'INVALID_ARGUMENT',
        `aligned model name '${a.name}': use 1-16 letters, digits, '-' or '_', not 'ref' (the reference)`,
      );
    if (seen.has(a.name)) throw new AppError('INVALID_ARGUMENT', `aligned model '${a.name}' is given twice`);
    seen.add(a.name);
    if (shapeOf(a.score.config) !== shapeOf(reference.config))
      throw new AppError(
        'FAILED_PRECONDITION',
        `aligned model '${a.name}' has another score-network config than the reference (${shapeOf(a.score.config)} vs ${shapeOf(reference.config)}): it was not fine-tuned from this reference`,
      );
    const norm = (n: TrainedModel<ScoreConfig>['norm']): string => JSON.stringify([n.mean, n.std]);
    if (norm(a.score.norm) !== norm(reference.norm))
      throw new AppError(
        'FAILED_PRECONDITION',
        `aligned model '${a.name}' has another latent standardisation than the reference: it was not fine-tuned from this reference`,
      );
  }
}

/** The metrics whose gains are reported, each read from a case's scores; NaN or absent where it does not apply. */
export const GAIN_METRICS = {
  /** Analysis MSE of the ensemble mean (of the single analysis with one member). */
  mse: { higherIsBetter: false, of: (s: MethodScores): number | undefined => s.mse },
  /** Analysis MSE of a single member (only with more than one member: with one, it is `mse`). */
  memberMse: { higherIsBetter: false, of: (s: MethodScores): number | undefined => s.memberMse },
  /** MSE of the 48 h forecast from the analysis. */
  forecastMse: { higherIsBetter: false, of: (s: MethodScores): number | undefined => s.forecastMse },
  /** Geo-Score (higher is better; NaN on a dataset without z, u, v). */
  geoScore: { higherIsBetter: true, of: (s: MethodScores): number | undefined => s.geoScore },
  /** Ensemble CRPS (only with more than one member). */
  crps: { higherIsBetter: false, of: (s: MethodScores): number | undefined => s.crps },
} as const;
export type GainMetric = keyof typeof GAIN_METRICS;

/** One aligned model's gain over the reference in one mode and metric. */
export interface Gain {
  /** Relative gain, positive = better than the reference (lower error, higher Geo-Score). */
  readonly gain: number;
  /** Paired bootstrap 95 % interval of the gain (cases resampled; sampler seeds averaged within a case first). */
  readonly ci95: readonly [number, number];
  /** Wilcoxon signed-rank p-value of the per-case differences, raw and Holm-adjusted over the whole grid. */
  readonly p: number;
  readonly pHolm: number;
  readonly n: number;
}

/** gains[model][mode][metric]. */
export type AlignmentGains = Record<string, Record<string, Partial<Record<GainMetric, Gain>>>>;

/** What the gains read of an evaluation. */
export interface GainInput {
  readonly methods: readonly string[];
  readonly cases: readonly EvalCase[];
}

/**
 * The gain of every aligned row (`<mode>@<model>`) over the reference's row of its mode, per metric that every case
 * has a finite value of, with its interval and p-values; the Holm adjustment runs over every gain of the grid.
 */
export function alignmentGains(
  res: GainInput,
  options: { readonly resamples?: number } = {},
): AlignmentGains {
  const raw: { model: string; mode: string; metric: GainMetric; g: Omit<Gain, 'pHolm'> }[] = [];
  for (const id of res.methods) {
    const { method: mode, model } = splitMethodId(id);
    if (model === 'ref') continue;
    for (const metric of Object.keys(GAIN_METRICS) as GainMetric[]) {
      const { of, higherIsBetter } = GAIN_METRICS[metric];
      const ref = res.cases.map((c) => valueOf(c, mode, of));
      const mod = res.cases.map((c) => valueOf(c, id, of));
      if (![...ref, ...mod].every((v) => Number.isFinite(v))) continue;
      const g = pairedGain(ref, mod, {
        higherIsBetter,
        ...(options.resamples === undefined ? {} : { resamples: options.resamples }),
      });
      raw.push({ model, mode, metric, g: { gain: g.gain, ci95: g.ci95, p: g.p, n: g.n } });
    }
  }
  const adjusted = holm(raw.map((r) => r.g.p));
  const out: AlignmentGains = {};
  for (const [k, r] of raw.entries()) {
    const byMode = (out[r.model] ??= {});
    const byMetric = (byMode[r.mode] ??= {});
    byMetric[r.metric] = { ...r.g, pHolm: adjusted[k] ?? Number.NaN };
  }
  return out;
}

const valueOf = (c: EvalCase, id: string, of: (s: MethodScores) => number | undefined): number => {
  const s = c.scores[id];
  return s === undefined ? Number.NaN : (of(s) ?? Number.NaN);
};

/** Ensemble calibration of one row over the cases (rows with more than one member). */
export interface Calibration {
  /**
   * sqrt((M + 1) / M) x RMS spread / RMSE of the ensemble mean, over the cases: 1 for a calibrated ensemble of M
   * members, below 1 for an over-confident one (spread collapsed).
   */
  readonly spreadSkill: number;
  /** Mean ensemble CRPS (normalised). */
  readonly crps: number;
  /** Rank histogram of the truth among the members, summed over cases (M + 1 counts). */
  readonly rankHistogram: readonly number[];
}

/** The calibration of every row whose cases carry a spread and members' scores. */
export function calibration(res: GainInput, members: number): Record<string, Calibration> {
  const out: Record<string, Calibration> = {};
  if (members < 2) return out;
  for (const id of res.methods) {
    const rows = res.cases.map((c) => c.scores[id]);
    if (rows.some((s) => s?.spread === undefined || s.crps === undefined || s.rankCounts === undefined))
      continue;
    const present = rows.filter((s): s is MethodScores => s !== undefined);
    const spread2 = mean(present.map((s) => (s.spread ?? Number.NaN) ** 2));
    const mse = mean(present.map((s) => s.mse));
    const bins = present[0]?.rankCounts?.length ?? 0;
    out[id] = {
      spreadSkill: Math.sqrt(((members + 1) / members) * spread2) / Math.sqrt(mse),
      crps: mean(present.map((s) => s.crps ?? Number.NaN)),
      rankHistogram: Array.from({ length: bins }, (_, r) =>
        present.reduce((a, s) => a + (s.rankCounts?.[r] ?? 0), 0),
      ),
    };
  }
  return out;
}

/** One of the paper's trends (METHOD.md section 7) as this evaluation finds it. */
export interface Trend {
  readonly trend: string;
  readonly verdict: 'held' | 'not held' | 'not tested';
  /** The evidence: gains with their intervals, or why it was not tested. */
  readonly detail: string;
}

const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} %`;
/** A gain as `+3.1 % [+1.0, +5.2]`. */
export const gainText = (g: Pick<Gain, 'gain' | 'ci95'>): string =>
  `${pct(g.gain)} [${pct(g.ci95[0]).replace(' %', '')}, ${pct(g.ci95[1])}]`;
/**
 * A gain is significant when its interval excludes zero and its Holm-adjusted p is below 0.05: with few cases a
 * percentile bootstrap interval is too narrow on its own (3 cases all on one side give an interval above zero and a
 * Wilcoxon p of 0.25).
 */
const above = (g: Pick<Gain, 'ci95' | 'pHolm'>): boolean => g.ci95[0] > 0 && g.pHolm < 0.05;
const straddles = (g: Pick<Gain, 'ci95'>): boolean => g.ci95[0] <= 0 && g.ci95[1] >= 0;

/**
 * The paper's five trends, each held / not held with its evidence, or not tested where this evaluation lacks what
 * it needs (a model, a second noise level). "Held" asks for significant gains (an interval above zero and a Holm p
 * below 0.05; for -4 against -M, Holm over the modes) where the trend is a gain, and for the ordering of the point estimates where it is a ranking.
 * @param modes - the latent modes evaluated, in order of increasing guidance (obsfree, repaint, dps)
 */
export function alignmentTrends(gains: AlignmentGains, res: GainInput, modes: readonly string[]): Trend[] {
  const M = gains.M;
  const P = gains.P;
  const trends: Trend[] = [];
  const missing = (model: string): string => `needs the aligned model ${model} (--models ref,${model})`;

  // 1. -M improves every metric in every mode.
  const t1 = '-M improves every metric in every mode';
  if (M === undefined) trends.push({ trend: t1, verdict: 'not tested', detail: missing('M') });
  else {
    const all = Object.entries(M).flatMap(([mode, ms]) =>
      Object.entries(ms).map(([metric, g]) => ({ mode, metric, g })),
    );
    const ok = all.filter((x) => above(x.g));
    const worst = [...all].sort((a, b) => a.g.ci95[0] - b.g.ci95[0])[0];
    trends.push({
      trend: t1,
      verdict: all.length > 0 && ok.length === all.length ? 'held' : 'not held',
      detail: `${ok.length} of ${all.length} gains significant (interval above zero, Holm p < 0.05)${worst === undefined ? '' : `; weakest: ${worst.mode} ${worst.metric} ${gainText(worst.g)}`}`,
    });
  }

  // 2. Gains shrink as guidance gets stronger (ObsFree > Repaint > DPS), on analysis MSE.
  const t2 = '-M gains in analysis MSE shrink as guidance gets stronger (ObsFree > Repaint > DPS)';
  const mseGains = modes.map((mode) => ({ mode, g: M?.[mode]?.mse }));
  if (M === undefined) trends.push({ trend: t2, verdict: 'not tested', detail: missing('M') });
  else if (mseGains.length < 2 || mseGains.some((x) => x.g === undefined))
    trends.push({ trend: t2, verdict: 'not tested', detail: 'needs at least two latent modes' });
  else {
    const gs = mseGains.map((x) => x.g?.gain ?? Number.NaN);
    const ordered = gs.every((g, k) => k === 0 || g < (gs[k - 1] ?? Number.NaN));
    trends.push({
      trend: t2,
      verdict: ordered ? 'held' : 'not held',
      detail: `point estimates ${mseGains.map((x) => `${x.mode} ${x.g === undefined ? '-' : gainText(x.g)}`).join(', ')}`,
    });
  }

  // 3. Gains shrink as observation noise grows: one evaluation has one noise level.
  trends.push({
    trend: '-M gains shrink as observation noise grows',
    verdict: 'not tested',
    detail: 'one evaluation has one noise level: compare the gains of runs at two --noise values',
  });

  // 4. -P raises Geo-Score most but is neutral elsewhere.
  const t4 = '-P raises Geo-Score most and is neutral elsewhere';
  const geoOf = (model: string): number =>
    mean(Object.values(gains[model] ?? {}).map((ms) => ms.geoScore?.gain ?? Number.NaN));
  if (P === undefined) trends.push({ trend: t4, verdict: 'not tested', detail: missing('P') });
  else if (!Number.isFinite(geoOf('P')))
    trends.push({ trend: t4, verdict: 'not tested', detail: 'the dataset has no Geo-Score (no z, u, v)' });
  else {
    const others = Object.keys(gains).filter((m) => m !== 'P');
    const most = others.every((m) => !(geoOf(m) >= geoOf('P')));
    const rest = Object.entries(P).flatMap(([mode, ms]) =>
      Object.entries(ms)
        .filter(([metric]) => metric !== 'geoScore')
        .map(([metric, g]) => ({ mode, metric, g })),
    );
    const neutral = rest.filter((x) => straddles(x.g)).length;
    trends.push({
      trend: t4,
      verdict: most && neutral === rest.length && others.length > 0 ? 'held' : 'not held',
      detail: `mean Geo-Score gain ${[...others, 'P'].map((m) => `${m} ${pct(geoOf(m))}`).join(', ')}${others.length === 0 ? ' (no other aligned model to rank against)' : ''}; ${neutral} of ${rest.length} other intervals straddle zero`,
    });
  }

  // 5. A 4th (hydrostatic) reward helps further: -4 against -M directly, paired, on analysis MSE.
  const t5 = 'a 4th (hydrostatic) reward helps further (-4 beats -M on analysis MSE)';
  if (gains['4'] === undefined || M === undefined)
    trends.push({ trend: t5, verdict: 'not tested', detail: missing(M === undefined ? 'M' : '4') });
  else {
    const vs = modes.map((mode) => {
      const a = res.cases.map((c) => valueOf(c, `${mode}@M`, (s) => s.mse));
      const b = res.cases.map((c) => valueOf(c, `${mode}@4`, (s) => s.mse));
      const g = pairedGain(a, b);
      return { mode, g: { ...g, pHolm: Math.min(1, g.p * modes.length) } };
    });
    trends.push({
      trend: t5,
      verdict: vs.every((x) => above(x.g)) ? 'held' : 'not held',
      detail: `-4 over -M: ${vs.map((x) => `${x.mode} ${gainText(x.g)}`).join(', ')}`,
    });
  }
  return trends;
}
