export { SCHEDULE_ETA, alpha, mu, sigma, tweedie } from './schedule.js';
export type {
  MaybePromise,
  Denoiser,
  Decoder,
  Encoder,
  DecodedTweedie,
  DecodedTweedieVjp,
  DenoiseAndDecode,
  ObservationOperator,
  Observations,
} from './ports.js';
export { validateObservations, griddedObservations, selectionOperator } from './observations.js';
export type { GriddedObservationInput } from './observations.js';
export { sample } from './sampler.js';
export type { SampleOptions } from './sampler.js';
export type { Guidance, StepContext } from './guidance/guidance.js';
export { obsFree } from './guidance/obs-free.js';
export { exactGaussianGuidance } from './guidance/exact-gaussian.js';
export { dps, dpsGradient } from './guidance/dps.js';
export type { DpsOptions, DpsGradient } from './guidance/dps.js';
export { repaint } from './guidance/repaint.js';
export type { RepaintOptions } from './guidance/repaint.js';
export { createGaussianPrior, denseOperator } from './gaussian-prior.js';
export type { GaussianPrior } from './gaussian-prior.js';
export { memberSeed } from './internal/seeds.js';
export { estimateBackgroundError } from './var3d/background-error.js';
export type { BackgroundErrorStats, BackgroundErrorOptions } from './var3d/background-error.js';
export { createBSqrt, correlation } from './var3d/b-sqrt.js';
export type { BSqrt, CorrelationKind, CorrelationModel } from './var3d/b-sqrt.js';
export { conjugateGradient } from './var3d/cg.js';
export type { CgOptions, CgResult } from './var3d/cg.js';
export { solve3DVar } from './var3d/var3d.js';
export type { Var3DInput, Var3DResult } from './var3d/var3d.js';
export { solveHybridEnVar } from './var3d/hybrid.js';
export type { HybridInput, HybridResult } from './var3d/hybrid.js';
export { gaspariCohnSqrt } from './var3d/localisation-sqrt.js';
export type { GaspariCohnSqrtOptions, LocalisationSqrt } from './var3d/localisation-sqrt.js';
export { fit3DVar } from './var3d/fit.js';
export type { BackgroundTruthPairs, Fit3DVarOptions, Fit3DVarResult } from './var3d/fit.js';
export { tune3DVar, tuneBSqrt } from './var3d/tune.js';
export type {
  Tune3DVarInput,
  Tune3DVarResult,
  Tune3DVarRow,
  TuneBSqrtInput,
  TuneBSqrtRow,
  Var3DCase,
} from './var3d/tune.js';
export { biasCorrect } from './var3d/bias.js';
export type { BalanceSpec, CoriolisSpec, GeostrophicLevel, HydrostaticLayer } from './var3d/balance.js';
export { createBalancedBSqrt } from './var3d/balanced-b.js';
export type { BalancedCorrelationModel } from './var3d/balanced-b.js';
export { estimateBalancedStats } from './var3d/balanced-stats.js';
export type { BalancedStats, BalancedStatsOptions, ControlCorrelation } from './var3d/balanced-stats.js';
export { estimateLengthScales } from './var3d/length-scale.js';
export type { LengthScaleOptions } from './var3d/length-scale.js';
export { fitBalanced3DVar, DEFAULT_LENGTH_SCALE_MULTIPLIERS } from './var3d/fit-balanced.js';
export type {
  BalancedTuneRow,
  FitBalanced3DVarOptions,
  FitBalanced3DVarResult,
} from './var3d/fit-balanced.js';
export { etkf } from './etkf.js';
export type { EtkfOptions } from './etkf.js';
export { letkf } from './letkf.js';
export type { LetkfOptions } from './letkf.js';
export { gaspariCohnLocalisation } from './letkf-localisation.js';
export type {
  GaspariCohnLocalisationOptions,
  LetkfLocalisation,
  LocalObservations,
} from './letkf-localisation.js';
export { gaspariCohn, gaspariCohnHalfWidth } from './gaspari-cohn.js';
export { randomMeanPreservingRotation } from './ensemble-rotation.js';
export { staticKalmanGain } from './static-kalman.js';
export type { StaticKalmanUpdate } from './static-kalman.js';
export {
  REWARD_NAMES,
  PREFERENCE_SET_NAMES,
  availableRewards,
  parseRewardName,
  parsePreferenceSetName,
  rewardsOfSet,
} from './align/reward-names.js';
export type {
  RewardName,
  PreferenceSetName,
  RewardCapabilities,
  RewardScales,
} from './align/reward-names.js';
export {
  siblingErrors,
  bradleyTerryWinRates,
  winRateScales,
  assimReward,
  forecastReward,
} from './align/win-rate.js';
export type { SiblingErrorOptions } from './align/win-rate.js';
export { balanceScores, deviationScale } from './align/balance-score.js';
export type { BalanceRewardSpec, BalanceDeviations } from './align/balance-score.js';
export { geoDeviations, geoReward } from './align/geo-reward.js';
export type { GeoRewardOptions } from './align/geo-reward.js';
export { hydroDeviations, hydroReward } from './align/hydro-reward.js';
export type { HydroRewardOptions } from './align/hydro-reward.js';
export {
  rewardTable,
  pairKey,
  dedupePairs,
  selectConditionPairs,
  selectPreferencePairs,
} from './align/pair-selection.js';
export type {
  RewardTable,
  PreferencePair,
  PairSelectionOptions,
  ConditionSelection,
  PreferencePairs,
} from './align/pair-selection.js';
