export { AdamW } from './adamw.js';
export type { AdamWConfig, AdamWOptions, AdamWState } from './adamw.js';
export { clipGradNorm, globalNorm } from './clip-grad-norm.js';
export { Ema } from './ema.js';
export type { EmaOptions, EmaState } from './ema.js';
export { warmupCosineLr, warmupCosineSchedule } from './lr-schedule.js';
export type { LrSchedule, WarmupCosineOptions } from './lr-schedule.js';
export { assertSameLayout, cloneParams, zerosLike } from './param-map.js';
export type { ParamArray, ParamMap, ReadonlyParamMap } from './param-map.js';
export {
  MAX_HEADER_BYTES,
  SAFETENSORS_ERROR_CODES,
  SafetensorsError,
  decodeSafetensors,
  encodeSafetensors,
} from './safetensors.js';
export type {
  SafetensorsContents,
  SafetensorsData,
  SafetensorsDtype,
  SafetensorsErrorCode,
  SafetensorsTensor,
} from './safetensors.js';
export {
  CHECKPOINT_FORMAT,
  decodeCheckpoint,
  encodeCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from './checkpoint.js';
export type { Checkpoint } from './checkpoint.js';
