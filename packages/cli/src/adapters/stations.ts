/** The station observations file under the data folder, read when it is there. */
import { existsSync } from 'node:fs';
import path from 'node:path';

import { readStationCsv } from '@alignda/world';
import type { StationFile } from '@alignda/world';

/** The station file under a data folder. */
export function stationCsvPath(dataDir: string): string {
  return path.join(dataDir, 'stations', 'weather_seattle_newyork_2012-2015.csv');
}

/** The station file, or undefined when the data folder has none. */
export async function readStations(dataDir: string): Promise<StationFile | undefined> {
  const csv = stationCsvPath(dataDir);
  return existsSync(csv) ? readStationCsv(csv) : undefined;
}
