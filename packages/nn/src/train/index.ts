export {
  TRAIN_CHECKPOINT_FORMAT,
  TRAIN_DEFAULTS,
  decaysWeight,
  readTrainCheckpoint,
  resolveTrainConfig,
  stepSeed,
  trainModel,
} from './train-model.js';
export type {
  Feeds,
  StepInfo,
  TrainCheckpointMeta,
  TrainConfig,
  TrainModelOptions,
  TrainResult,
} from './train-model.js';
export { TRAIN_ERROR_CODES, TrainError } from './train-error.js';
export type { TrainErrorCode } from './train-error.js';
export {
  emulatorBatches,
  emulatorHours,
  fitTrainNorm,
  loadPeriod,
  periodHours,
  scoreBatches,
  stackStates,
  vaeBatches,
} from './data.js';
export type { TrainNormOptions } from './data.js';
export { emulatorForecasts, encodeStates, fitLatentNorm } from './pipeline.js';
export type { BatchedRunOptions } from './pipeline.js';
export { evaluateEmulator, evaluateVae } from './evaluate.js';
export type { EmulatorSkill, VaeSkill } from './evaluate.js';
export { DPO_DEFAULTS, resolveDpoConfig, trainDpo } from './dpo.js';
export type { DpoConfig, DpoMetrics, DpoProgress, PreferencePairs, TrainDpoOptions, TrainDpoResult } from './dpo.js';
