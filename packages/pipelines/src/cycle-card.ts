/**
 * The protocol card of a cycle (issue 11, item 5): the single-analysis card of protocol.ts with the background,
 * cycling and sample lines said for a cycle, and each method's tuning budget counted in short cycles.
 */
import type { DaSource } from '@alignda/world';

import type { ResolvedCycleOptions } from './cycle-options.js';
import type { CycleSetup } from './cycle-types.js';
import { protocolCard } from './protocol.js';
import type { ProtocolCard } from './protocol.js';

/** What the card is told besides the options and the setup. */
export interface CycleCardInput {
  readonly source: DaSource;
  readonly training: DaSource;
  readonly setup: CycleSetup;
  /** The kind of backgrounds the latent prior was trained on, when known ('model' or 'emulator'). */
  readonly priorBackground?: string;
}

function budget(candidates: number, o: ResolvedCycleOptions, perCycle: string): string {
  return candidates <= 1
    ? 'given (one candidate, no tuning)'
    : `${candidates} candidates x one ${o.tuneCycles}-cycle short cycle each on the training run's alignment period ` +
        `(${candidates * o.tuneCycles} ${perCycle}), scored by the mean analysis MSE of its second half`;
}

/** The protocol card of a cycle. */
export function cycleCard(o: ResolvedCycleOptions, p: CycleCardInput): ProtocolCard {
  const forecastWords =
    o.forecast === 'model'
      ? 'the imperfect physical model (QG, perturbed parameters)'
      : 'the learned emulator';
  const s = p.setup;
  const offline =
    s.offline === undefined
      ? ''
      : `${s.offline.pairs} ${o.intervalHours} h (background, truth) pairs of an offline 3D-Var cycle over the training run's train period ` +
        `(${s.offline.cycles} cycles, the first ${o.offlineBurnIn} dropped; background RMSE ${s.offline.meanBackgroundRmse.toFixed(4)}), ` +
        `itself run with a first B from ${o.pairs48} 48 h forecasts of the truth (univariate, 1000 km, not tuned)`;
  const tuning: Record<string, string> = {};
  const runs = (m: string): boolean => (o.methods as readonly string[]).includes(m);
  if (s.var3d !== undefined)
    tuning['3dvar'] =
      `separable univariate B (variances per channel and latitude) from ${offline}; no bias correction; ` +
      `length scale ${s.var3d.lengthScaleKm} km: ${budget(o.lengthScalesKm.length, o, 'analyses')}`;
  if (s.balanced !== undefined && runs('3dvar-bal'))
    tuning['3dvar-bal'] =
      `bias-corrected backgrounds; balanced multivariate B (geostrophic winds, hydrostatic temperature), control-variable ` +
      `variances, correlations and length scales from the same pairs; length-scale multiplier ${s.balanced.multiplier}: ` +
      `${budget(o.multipliers.length, o, 'analyses')}`;
  if (s.letkf !== undefined && runs('letkf'))
    tuning.letkf =
      `${o.members} members, each forecast by the cycle's model; initial members the common initial state plus ` +
      `${o.initialError} x climatological perturbations (differences of two random training states over sqrt 2), recentred; Gaspari-Cohn over grid columns, ` +
      `no rotation; prior inflation ${s.letkf.inflation}, RTPS ${s.letkf.rtps} and half-width ${s.letkf.halfWidthKm} km: ` +
      `${budget(o.inflations.length * o.rtps.length * o.halfWidthsKm.length, o, `analyses of ${o.members} member forecasts`)}`;
  if (s.hybrid !== undefined && s.balanced !== undefined && s.letkf !== undefined)
    tuning.hybrid =
      `B = (1 - a) B_clim + a P_ens o L by the augmented control vector: B_clim the balanced 3D-Var's (length-scale ` +
      `multiplier ${s.balanced.multiplier}) on the bias-corrected background; P_ens from ${o.members} members cycled as the ` +
      `LETKF's (prior inflation ${s.letkf.inflation}, RTPS ${s.letkf.rtps}, half-width ${s.letkf.halfWidthKm} km, tuned for ` +
      `the LETKF) and recentred on the hybrid analysis each cycle; L Gaspari-Cohn between grid cells (horizontal); ` +
      `weight ${s.hybrid.weight} and half-width ${s.hybrid.halfWidthKm} km: ` +
      `${budget(o.hybridWeights.length * o.hybridHalfWidthsKm.length, o, `analyses of ${o.members} + 1 forecasts`)}`;
  const latentPrior =
    `prior trained on 48 h ${p.priorBackground ?? ''}${p.priorBackground === undefined ? '' : ' '}backgrounds, ` +
    `reused at ${o.intervalHours} h (latentPrior '${o.latentPrior ?? 'none'}', asked for explicitly; a ${o.intervalHours} h prior is not trained in this version)`;
  for (const m of o.methods)
    if (m === 'dps' || m === 'obsfree')
      tuning[m] =
        `${latentPrior}; ${o.latentMembers} member(s), their mean carried forward` +
        (m === 'dps' ? `; zeta' ${o.zeta}, not retuned for cycling` : '; no parameter');
  const card = protocolCard({
    source: p.source,
    observe: o.observe,
    obsErrorStd: o.observe.errorStd ?? o.observe.noiseStd,
    background: forecastWords,
    leadHours: o.intervalHours,
    cases: o.cycles,
    samplerSeeds: 1,
    members: o.latentMembers,
    tuning,
  });
  return {
    ...card,
    observations: card.observations.replace(
      'drawn once per case from the case seed, the same for every method and sampler seed',
      'drawn afresh each cycle from the truth at the valid time, seeded by the cycle alone, the same for every method',
    ),
    truth: `${card.truth}; never trained or tuned on: B and every tuning come from ${p.training.title}`,
    background:
      `${o.intervalHours} h forecasts of ${forecastWords} from each method's own previous analysis (the LETKF: of each member; hybrid EnVar: of its analysis and each member); ` +
      `the first from the truth at state ${o.start} plus ${o.initialError} x a climatological perturbation ` +
      '(the difference of two random states of the training run over sqrt 2), the same for every method',
    cycled:
      `yes: ${o.cycles} cycles of analysis -> ${o.intervalHours} h forecast -> next background; ` +
      `a method whose analysis RMSE passes ${s.threshold.toFixed(4)} (the climatological anomaly std over all normalised values) ` +
      'is flagged diverged at that cycle and carried on (stopped only when its state is no longer finite)' +
      (o.methods.some((m) => m === 'dps' || m === 'obsfree') ? `; ${latentPrior}` : ''),
    sample:
      `${o.cycles} cycles from state ${o.start} of ${p.source.title}; summary over the last ${o.summaryCycles}; ` +
      `${o.latentMembers} member(s) per latent analysis (their mean is scored and carried)`,
  };
}
