/**
 * @alignda/pipelines: the application layer. Each use case is a function of explicit options and ports, with
 * progress through a callback and results as values: no argument parsing, no printing, no process wiring. The CLI,
 * the services and the workers are doors to these functions.
 *
 * @packageDocumentation
 */
export { DEFAULT_OBS_FRACTION, OBS_LAYOUTS, observe, griddedFromBatch } from './observe.js';
export type { ObsLayout, ObserveOptions } from './observe.js';
export { protocolCard } from './protocol.js';
export type { ProtocolCard, ProtocolInput } from './protocol.js';
export { ASSIMILATION_METHODS, LATENT_MODES, assimilate } from './assimilate.js';
export type {
  Analysis,
  AssimilateRequest,
  AssimilationMethod,
  LatentAnalysisSettings,
  LatentMode,
  LatentPrior,
} from './assimilate.js';
export { decodeState, encodeState, forecastState, latentPrior } from './latent-models.js';
export { evaluate } from './evaluate.js';
export type {
  EvalCase,
  EvalCaseInput,
  EvalMethod,
  EvaluateOptions,
  EvaluatePorts,
  EvaluateResult,
  MethodAnalysis,
  MethodScores,
} from './evaluate.js';
export {
  BACKGROUND_KINDS,
  DPS_ZETAS,
  EVAL_METHODS,
  defaultBackground,
  GEO_SCORE_SCALE,
  LEAD_STEPS,
  LENGTH_SCALES_M,
  REPAINT_BLENDS,
  TUNE_CASES,
  balanceSpec,
  evaluateLatent,
  splitMethodId,
} from './evaluate-latent.js';
export type {
  AlignedMethodId,
  AlignedScore,
  BackgroundKind,
  EvalMethodId,
  LatentEvalOptions,
  LatentEvalResult,
} from './evaluate-latent.js';
export {
  GAIN_METRICS,
  alignmentGains,
  alignmentTrends,
  calibration,
  checkAligned,
  gainText,
} from './evaluate-aligned.js';
export type { AlignmentGains, Calibration, Gain, GainInput, GainMetric, Trend } from './evaluate-aligned.js';
export { pickCases, pickPhasedCases } from './cases.js';
export { geoLevels, levelDeviations, meanGeoScore } from './geo.js';
export type { GeoLevel } from './geo.js';
export { backgroundTruthPairs } from './var3d-pairs.js';
export { runVar3dOsse } from './osse-3dvar.js';
export type { QgOsseCase, QgOsseOptions, QgOsseResult } from './osse-3dvar.js';
export { runNcepCheck } from './ncep-check.js';
export type { NcepCheckResult } from './ncep-check.js';
export { createStationVerifier } from './station-verify.js';
export type { StationScore, StationVerifier } from './station-verify.js';
export {
  ensembleCrps,
  holm,
  mean,
  pairedComparison,
  pairedGain,
  rankHistogram,
  std,
  wilcoxonSignedRank,
} from './stats.js';
export type { PairedComparison, PairedGain, WilcoxonResult } from './stats.js';
export type { ModelStore, TrainElsewhere } from './ports.js';
export {
  BACKGROUND_LEAD_STEPS,
  MODEL_NAMES,
  PRESETS,
  SCORE_EMA_DECAY,
  TRAIN_PRESETS,
  modelSetName,
  presetConfigs,
} from './train/presets.js';
export type { ModelName, Preset } from './train/presets.js';
export { trainLatentModels } from './train/train.js';
export type { ModelReport, TrainOptions, TrainOutcome, TrainSkill } from './train/train.js';
export {
  DAPPER_GC_FACTOR,
  L96_CONFIGS,
  L96_DEFAULT_SEED,
  L96_OWN_SETTINGS,
  L96_SOURCE,
  L96_TUNE_SEED,
  l96Localisation,
  runL96Benchmark,
  runL96Method,
} from './l96.js';
export type { L96BenchmarkOptions, L96BenchmarkResult, L96Config, L96Method, L96Row } from './l96.js';
export { tuneL96Inflation } from './l96-tune.js';
export type { L96TuneOptions, L96TuneRow } from './l96-tune.js';
export {
  l96Climatology,
  runL96Constant,
  runL96Ensemble,
  runL96StaticGain,
  simulateL96Twin,
} from './l96-twin.js';
export type { L96EnsembleSettings, L96Score, L96Twin } from './l96-twin.js';
export { cycleStatesNeeded, runCycle } from './cycle.js';
export { cycleStoreOn } from './cycle-store.js';
export { carriedAnalysis } from './cycle-step.js';
export { reanalysisRequestSchema, reanalysisStreams } from './reanalysis-request.js';
export type { ReanalysisRequest } from './reanalysis-request.js';
export {
  CYCLE_PACES,
  MAX_CYCLE_STEPS,
  cycleOptionsOf,
  cycleRequestSchema,
  cycleSourceYears,
  parseCycleRequest,
} from './cycle-request.js';
export type { CyclePace, CycleRequest, CycleRequestInput } from './cycle-request.js';
export type { CycleResult } from './cycle.js';
export {
  CLASSICAL_CYCLE_METHODS,
  CYCLE_FORECASTS,
  CYCLE_LATENT_PRIORS,
  CYCLE_METHODS,
  DEFAULT_CYCLE_METHODS,
  LATENT_CYCLE_METHODS,
} from './cycle-types.js';
export type {
  CarriedState,
  CycleComparison,
  CycleForecast,
  CycleLatentPrior,
  CycleMethod,
  CycleMethodSummary,
  CycleOptions,
  CyclePorts,
  CycleRecord,
  InnovationDiagnostics,
  CycleSetup,
  CycleState,
  CycleStore,
  CycleTuneRow,
  DiffStats,
  LeadTime,
  PlainErrorStats,
  SkillRecord,
} from './cycle-types.js';
export { blockBootstrapRatio } from './cycle-summary.js';
export { alignModels, preparePreferences, trainAlignment } from './align/align.js';
export type { AlignOptions, AlignResult, AlignmentStore, PreparedPreferences } from './align/align.js';
export { GATE_RULE, gateAlignment, gateReasons, intervalText } from './align/gate.js';
export type { GateChange, GateOptions, GateVerdict } from './align/gate.js';
export {
  alignOptionsOf,
  alignmentBackground,
  alignmentRequestSchema,
  gateOptionsOf,
  parseAlignmentRequest,
} from './align/request.js';
export type { AlignmentRequest } from './align/request.js';
export { PREFERENCE_SET_FORMAT, buildPreferenceSet } from './align/preference-set.js';
export type { PreferenceSet, PreferenceSetMeta, PreferenceSetOptions } from './align/preference-set.js';
export { contentHash, decodePreferenceSet, encodePreferenceSet } from './align/preference-file.js';
export { DEFAULT_FORECAST_STEPS, scoreCondition } from './score/score-condition.js';
export type {
  SampleScores,
  ScoreConditionOptions,
  ScoreDataset,
  ScoreObservations,
  ScoreOutcome,
  ScorePorts,
} from './score/score-condition.js';
export { rewardScales, rewardTerms, rewardValues } from './score/rewards.js';
export type { ConditionFields, RewardContext, RewardTerms, RewardValues } from './score/rewards.js';
export type { ForecastPort } from './score/ports.js';
export { leadForecast } from './lead-forecast.js';
export type { LeadForecast } from './lead-forecast.js';
export { PREFERENCE_SET_NAMES } from '@alignda/da';
export type { PreferenceSetName } from '@alignda/da';
export {
  JOB_METHODS,
  MAX_JOB_MEMBERS,
  MAX_JOB_OBSERVATIONS,
  MAX_JOB_STEPS,
  assimilationRequestSchema,
  checkRequestAgainstSource,
  formatRequestIssues,
  jobObservationsSchema,
  jobSourceShape,
  parseAssimilationRequest,
} from './job/request.js';
export type {
  AssimilationRequest,
  AssimilationRequestInput,
  JobMethod,
  JobObservations,
  JobSourceShape,
  ResolvedObservations,
} from './job/request.js';
export { JOB_LENGTH_SCALE_KM, JOB_VAR3D_TRAIN_CASES, runAssimilationJob } from './job/run-job.js';
export type { AssimilationJobResult, JobTimings, RunJobOptions } from './job/run-job.js';
export { jobDiagnostics, normaliseObservations } from './job/job-observations.js';
export { memberMean, memberStd } from './job/member-stats.js';
export type {
  ChannelDepartures,
  DepartureStats,
  JobDiagnostics,
  NormalisedObservations,
} from './job/job-observations.js';
export { backgroundForecaster, jobStateIndex } from './job/background.js';
