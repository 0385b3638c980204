/**
 * @alignda/tensor: pure numerical kernels over row-major Float32Array/Float64Array tensors: grids and fields,
 * latitude weights, WeatherBench metrics, finite differences, geostrophic balance (docs/METHOD.md section 5),
 * normalisation statistics, a seeded RNG and a few array utilities. No I/O, no module state.
 *
 * @packageDocumentation
 */
export { TENSOR_ERROR_CODES, TensorError } from './tensor-error.js';
export type { TensorErrorCode } from './tensor-error.js';
export { createRng } from './rng.js';
export type { Rng } from './rng.js';
export {
  EARTH_RADIUS_M,
  EARTH_OMEGA_PER_S,
  GRAVITY_M_PER_S2,
  R_DRY_J_PER_KG_K,
  gridHeight,
  gridWidth,
  latLonGrid,
  betaPlaneGrid,
  northingM,
  zonalSpacingM,
  coriolisPerS,
} from './grid.js';
export type { Grid, LatLonGrid, BetaPlaneGrid, LatLonGridOptions, BetaPlaneGridOptions } from './grid.js';
export { createField, channelIndex, channel, findNonFinite, assertFiniteField } from './field.js';
export type { Field, FieldInit, FloatArray, FloatTensor, Tensor } from './field.js';
export { latitudeWeights } from './weights.js';
export { mse, mae, latWeightedRmse } from './metrics.js';
export type { MetricOptions, PlainMetricOptions, ChannelMetric, WeightedRmse } from './metrics.js';
export { ddx, ddy } from './finite-difference.js';
export type { DerivativeOptions } from './finite-difference.js';
export { geostrophicWind, geostrophicDeviation, geoScore } from './geostrophic.js';
export type {
  GeostrophicWind,
  GeostrophicWindOptions,
  GeostrophicDeviation,
  GeostrophicDeviationOptions,
} from './geostrophic.js';
export { fitNormStats, normalise, denormalise, parseNormStats } from './normalisation.js';
export type { NormStats, FitNormStatsOptions, NormaliseOptions } from './normalisation.js';
export { zeros, sub, axpy, dot, norm2 } from './ops.js';
export type { DType } from './ops.js';
