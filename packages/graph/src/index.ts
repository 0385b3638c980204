export { GraphBuilder } from './builder.js';
export type {
  Conv2dOptions,
  ConvTranspose2dOptions,
  GraphBuilderOptions,
  NodeNames,
  Operand,
} from './builder.js';
export { Graph } from './graph.js';
export type { ConstSpec, GraphNode, GraphParts, ParamSpec } from './graph.js';
export { fans } from './init.js';
export type { ParamInit } from './init.js';
export { grad, gradName, vjp } from './grad.js';
export { ELEMENTWISE_OPS, vjpSplit } from './vjp-split.js';
export type { SplitVjp, VjpSplitOptions } from './vjp-split.js';
export { OPSET, exportInference, toOnnx } from './onnx.js';
export type { OnnxModel } from './onnx.js';
export { createSession, onnxruntimeVersion, releaseSessions } from './runtime.js';
export type {
  ExecutionProvider,
  ExecutionProviderChoice,
  Feed,
  OptimizationLevel,
  RuntimeOptions,
  Session,
} from './runtime.js';
export { GRAPH_ERROR_CODES, GraphError } from './errors.js';
export type { GraphErrorCode } from './errors.js';
export { OP_TYPES } from './internal/registry.js';
export { graphFromSpec } from './spec.js';
export type { GraphSpec, NodeSpec } from './spec.js';
export { numel } from './types.js';
export type { AttrValue, DType, Shape, TensorData, TypedArray, Value } from './types.js';
export {
  AdamW,
  clipGradNorm,
  globalNorm,
  Ema,
  warmupCosineLr,
  warmupCosineSchedule,
  assertSameLayout,
  cloneParams,
  zerosLike,
  MAX_HEADER_BYTES,
  SAFETENSORS_ERROR_CODES,
  SafetensorsError,
  decodeSafetensors,
  encodeSafetensors,
  CHECKPOINT_FORMAT,
  decodeCheckpoint,
  encodeCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from './train/index.js';
export type {
  AdamWConfig,
  AdamWOptions,
  AdamWState,
  EmaOptions,
  EmaState,
  LrSchedule,
  WarmupCosineOptions,
  ParamArray,
  ParamMap,
  ReadonlyParamMap,
  SafetensorsContents,
  SafetensorsData,
  SafetensorsDtype,
  SafetensorsErrorCode,
  SafetensorsTensor,
  Checkpoint,
} from './train/index.js';
