export { DatasetError, DATASET_ERROR_CODES } from './dataset/dataset-error.js';
export type { DatasetErrorCode } from './dataset/dataset-error.js';
export {
  datasetDescriptorSchema,
  parseDatasetDescriptor,
  parseIsoUtc,
  CHANNEL_ROLES,
  DIAGNOSTICS,
} from './dataset/descriptor.js';
export type {
  DatasetDescriptor,
  DatasetDescriptorInput,
  DescriptorVariable,
  DescriptorCoordinate,
  DescriptorPeriod,
  PeriodName,
  Diagnostic,
} from './dataset/descriptor.js';
export {
  renderFieldPng,
  renderFieldRaster,
  fieldChannel,
  fieldRange,
  colorRange,
  formatValue,
} from './render/render-field.js';
export type { Field2d, RenderFieldOptions } from './render/render-field.js';
export { renderPanelsPng } from './render/render-panels.js';
export type { RenderPanel, RenderPanelsOptions } from './render/render-panels.js';
export { colormapRgb } from './render/colormap.js';
export type { ColormapName, Rgb } from './render/colormap.js';
export type { Raster } from './render/raster.js';
