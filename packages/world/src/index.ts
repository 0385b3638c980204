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
