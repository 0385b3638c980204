export { DatasetError, DATASET_ERROR_CODES, APP_CODE_BY_DATASET_CODE } from './dataset/dataset-error.js';
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
export { renderFieldPng, renderFieldRaster, renderFieldSvg } from './render/render-field.js';
export { fieldChannel, fieldRange, colorRange, formatValue } from './render/field-stats.js';
export type { Field2d, ObsLocation, RenderFieldOptions } from './render/render-options.js';
export { renderPanelsPng, renderPanelsRaster, renderPanelsSvg } from './render/render-panels.js';
export type { RenderPanel, RenderPanelsOptions } from './render/render-panels.js';
export { colormapRgb, colormapStops } from './render/colormap.js';
export type { ColormapName, Rgb } from './render/colormap.js';
export type { Raster } from './render/rasterise.js';
export { snapshotDir } from './store/snapshot-dir.js';
export { createZarrTimeStore, writeZarrTime } from './format/zarr-time-store.js';
export type { ZarrTimeStoreSpec } from './format/zarr-time-store.js';
export type { SnapshotFiles } from './store/snapshot-dir.js';
export { cfTimesToEpochMs } from './dataset/cf-time.js';
export { centredPlacement, placementMask, placeMap, placeAxis } from './dataset/pad-crop.js';
export type { Placement } from './dataset/pad-crop.js';
export { openSourceReader, SUPPORTED_DTYPES } from './dataset/source-reader.js';
export type { SourceReader, SourceVariable } from './dataset/source-reader.js';
export { openDataset } from './dataset/open-dataset.js';
export type { OpenedDataset, OpenDatasetOptions } from './dataset/open-dataset.js';
export { ncepAirDescriptor } from './dataset/ncep-air.js';
export {
  createDatasetRegistry,
  datasetRegistryDir,
  loadDescriptorFile,
  validateDataset,
} from './dataset/registry.js';
export type {
  DatasetEntry,
  DatasetRegistry,
  DatasetRegistryOptions,
  RegisterOptions,
} from './dataset/registry.js';
export { resolveUnderDataRoot } from './dataset/data-root.js';
export { syntheticDailyDataset } from './dataset/synthetic-daily.js';
export type { SyntheticDailyOptions } from './dataset/synthetic-daily.js';
export { DEFAULT_QG_PARAMS, deriveQg } from './qg/params.js';
export type { QgParams, QgDerived } from './qg/params.js';
export { createQgModel } from './qg/model.js';
export type { QgModel } from './qg/model.js';
export { createQgCore, invertPv, pvFromPsi, zeroState } from './qg/core.js';
export type { QgCore } from './qg/core.js';
export { createDxdt, createExplicitTendency } from './qg/dxdt.js';
export type { QgTendency } from './qg/dxdt.js';
export { createStep } from './qg/step.js';
export type { QgStep } from './qg/step.js';
export { qgEnergy, qgEnstrophy } from './qg/diagnostics.js';
export { QG_CHANNELS, QG_UNITS, qgGrid, qgToField, qgFromField, thicknessPerKelvin } from './qg/output.js';
export { RealFft2, fft2Flops } from './qg/spectral.js';
export { forecastModel, FORECAST_MODEL_PERTURBATION } from './qg/forecast-model.js';
export type { QgForecastModel } from './qg/forecast-model.js';
export { generateNatureRun, naturePeriods, natureStateCount, NATURE_EPOCH_ISO } from './nature/nature-run.js';
export type { NatureRunOptions, NaturePeriods } from './nature/nature-run.js';
export {
  loadOrGenerateNatureRun,
  openNatureRun,
  writeNatureRun,
  NATURE_CACHE_VERSION,
} from './nature/nature-store.js';
export type { NatureRun } from './nature/nature-store.js';
export { QC_FLAG, qcFlagNames } from './obs/qc.js';
export type { QcFlagName } from './obs/qc.js';
export { validateObsBatch } from './obs/obs-batch.js';
export type { ObsBatch, ObsValidation, ValidateObsOptions } from './obs/obs-batch.js';
export {
  DEFAULT_GROSS_ERROR_THRESHOLD,
  PLAUSIBLE_RANGES,
  backgroundCheck,
  backgroundFreeQc,
  qcCounts,
} from './obs/batch-qc.js';
export type { BackgroundCheck, BackgroundCheckOptions, QcContext } from './obs/batch-qc.js';
export { channelDepartureStats, departures, meanRms, obsEquivalents } from './obs/departures.js';
export type {
  ChannelDepartureStats,
  DepartureObs,
  DepartureOptions,
  Departures,
  MeanRms,
} from './obs/departures.js';
export { bilinearOperator, locatePoint } from './obs/bilinear.js';
export type { PointLocation, PointOperator, PointSet } from './obs/bilinear.js';
export { simulateGriddedObs } from './obs/simulate-gridded.js';
export { simulatePointObs } from './obs/simulate-points.js';
export type { PointObs, SimulatePointOptions } from './obs/simulate-points.js';
export type { GriddedObs, SimulateGriddedOptions } from './obs/simulate-gridded.js';
export { KNOWN_STATIONS, parseStationCsv, readStationCsv, stationObsBatch } from './obs/stations.js';
export type { Station, StationDay, StationFile } from './obs/stations.js';
export { natureStats } from './nature/nature-stats.js';
export type { NatureStats } from './nature/nature-stats.js';
export { WORLDS, datasetSource, openSource, qgSource } from './source/open-source.js';
export type { SourceChoice, SourceDirs } from './source/open-source.js';
export { sourceStepHours } from './source/state-source.js';
export type { DaSource, SourceDynamics, StateSource } from './source/state-source.js';
export { DEFAULT_L96_PARAMS, l96Params } from './l96/params.js';
export type { L96Params } from './l96/params.js';
export { l96Advection, l96Dxdt } from './l96/dxdt.js';
export { createL96Step } from './l96/step.js';
export type { L96Step } from './l96/step.js';
export { NC_VARIABLE_TYPES, writeNetcdfClassic } from './format/netcdf-classic.js';
export type {
  NcAttributeValue,
  NcDimension,
  NcFile,
  NcTypedAttribute,
  NcVariable,
  NcVariableType,
} from './format/netcdf-classic.js';
export { readNetcdfClassic } from './format/netcdf-classic-reader.js';
export type { NcReadAttribute, NcReadFile, NcReadVariable } from './format/netcdf-classic-reader.js';
export { NC_FILL_FLOAT, cfStandardName, fieldsNetcdf } from './format/field-netcdf.js';
export type { FieldSet, FieldsNetcdfInput } from './format/field-netcdf.js';
export { ANALYSIS_KINDS, readAnalysisNetcdf, selectAnalysis } from './format/analysis-netcdf.js';
export type { AnalysisKind, AnalysisNetcdf, AnalysisSelection } from './format/analysis-netcdf.js';
export { analysisFileMapPng, analysisMapPng, observationLocations } from './format/analysis-map.js';
export type { AnalysisMapInput, MapObservation, ObservationsOnGrid } from './format/analysis-map.js';
export { zarrZipOfNetcdf, zipEntries } from './format/zarr-zip.js';
