/**
 * @alignda/nn: layers and the three model families of the latent DA method (METHOD.md section 2) as
 * `@alignda/graph` builders — a convolutional VAE, a forecast emulator and a background-conditioned latent
 * score network — each with training, inference and initial-parameter functions.
 *
 * @packageDocumentation
 */
export {
  attention,
  attentionBlock,
  conv2d,
  downsample,
  fromTokens,
  groupNorm,
  linear,
  mse,
  param,
  paramSeed,
  resBlock,
  silu,
  sinusoidalEmbedding,
  timeEmbedding,
  toTokens,
  upsample,
} from './layers.js';
export type { ConvOptions, Ctx } from './layers.js';
export { parameterCount, pickParams, trainingGraph } from './model.js';
export type { TrainingGraph } from './model.js';
export {
  VAE_DEFAULTS,
  VAE_PRESETS,
  buildVaeDecode,
  buildVaeEncode,
  buildVaeForward,
  buildVaeTraining,
  vaeDecoder,
  vaeEncoder,
  vaeInitialParams,
  unstandardiseLatent,
  vaeLatentShape,
} from './vae.js';
export type { LatentNorm, VaeConfig } from './vae.js';
export {
  EMULATOR_DEFAULTS,
  EMULATOR_PRESETS,
  EMULATOR_STEP_HOURS,
  buildEmulatorForward,
  buildEmulatorRollout,
  buildEmulatorStep,
  buildEmulatorTraining,
  emulatorInitialParams,
  emulatorStep,
  emulatorTakesHour,
  solarForcing,
} from './emulator.js';
export type { EmulatorConfig } from './emulator.js';
export {
  DPS_GRAD_OUTPUT,
  SCORE_DEFAULTS,
  SCORE_PRESETS,
  buildDpsHelper,
  buildScoreEps,
  buildScoreForward,
  buildScoreTraining,
  scoreInitialParams,
  scoreNet,
} from './score.js';
export type { ScoreConfig } from './score.js';
export { DPO_OUTPUTS, buildScoreDpoForward, buildScoreDpoTraining } from './dpo.js';
export { DPO_DEFAULTS, resolveDpoConfig, trainDpo } from './train/index.js';
export type {
  DpoConfig,
  DpoMetrics,
  DpoProgress,
  PreferencePairs,
  TrainDpoOptions,
  TrainDpoResult,
} from './train/index.js';
export {
  TRAIN_CHECKPOINT_FORMAT,
  TRAIN_DEFAULTS,
  TRAIN_ERROR_CODES,
  TrainError,
  decaysWeight,
  emulatorBatches,
  emulatorForecasts,
  emulatorHours,
  encodeStates,
  evaluateEmulator,
  fitLatentNorm,
  scoreBatches,
  evaluateVae,
  fitTrainNorm,
  loadPeriod,
  periodHours,
  readTrainCheckpoint,
  resolveTrainConfig,
  stackStates,
  stepSeed,
  trainModel,
  vaeBatches,
} from './train/index.js';
export type {
  BatchedRunOptions,
  EmulatorSkill,
  Feeds,
  StepInfo,
  TrainCheckpointMeta,
  TrainConfig,
  TrainErrorCode,
  TrainModelOptions,
  TrainResult,
  VaeSkill,
} from './train/index.js';
export {
  MODEL_FILES,
  MODEL_MANIFEST_FILE,
  fileModelStore,
  loadLatentModels,
  loadTrainedModel,
} from './model-store.js';
export type { FileModelStore, LatentModels, ModelManifest, TrainedModel } from './model-store.js';
export { createLatentSessions, latentPorts } from './latent-sessions.js';
export type { LatentPortName, LatentPorts, LatentSessions, PortTimer } from './latent-sessions.js';
export {
  compareModelFiles,
  findRepoRoot,
  hashFile,
  modelsProvenance,
  platformProvenance,
  readGitCommit,
} from './provenance.js';
export type {
  ModelFileRecord,
  ModelFilesComparison,
  ModelsProvenance,
  PlatformProvenance,
  PlatformProvenanceOptions,
} from './provenance.js';
