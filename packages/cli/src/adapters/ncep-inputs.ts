/** The inputs of the NCEP 3D-Var check, read from the data folder when they are there. */
import { existsSync } from 'node:fs';
import path from 'node:path';

import { createDatasetRegistry, readStationCsv } from '@alignda/world';
import type { OpenedDataset, StationFile } from '@alignda/world';

import { stationCsvPath } from './stations.js';

/** The opened NCEP air-temperature dataset and the station file, or why they are not there. */
export type NcepInputs =
  { readonly dataset: OpenedDataset; readonly stations: StationFile } | { readonly skipped: string };

/** Opens `ncep-air` and the station file under `dataDir`; `skipped` when either file is absent. */
export async function openNcepInputs(dataDir: string): Promise<NcepInputs> {
  const zarr = path.join(dataDir, 'ncep-air', 'air_temperature.zarr');
  const csv = stationCsvPath(dataDir);
  if (!existsSync(zarr) || !existsSync(csv))
    return { skipped: `no NCEP data under ${dataDir} (set ALIGNDA_DATA_DIR; see README "Data")` };
  return {
    dataset: await createDatasetRegistry({ dataDir }).open('ncep-air'),
    stations: await readStationCsv(csv),
  };
}
