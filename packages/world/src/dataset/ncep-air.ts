import path from 'node:path';

import { parseDatasetDescriptor } from './descriptor.js';
import type { DatasetDescriptor } from './descriptor.js';

/**
 * The NCEP/NCAR Reanalysis 1 air temperature at sigma 0.995 over North America, 2013-2014, 6-hourly
 * (see ../shared/data/README.md; the xarray tutorial subset). Periods: train January-October 2013 (1216 states),
 * alignment (validation) November-December 2013 (244), test 2014 (1460).
 *
 * Model grid 32 x 64 (stored 25 x 53, centred: 3 padded rows above, 4 below, 5 columns west, 6 east;
 * 65 % of the cells valid). Why 32 x 64 rather than the tighter 28 x 56 (84 % valid): it is the shape of
 * the synthetic world, so one autoencoder / score-network configuration serves both, and the latent
 * grid after 4x downsampling (8 x 16) can still be halved by a latent U-Net (7 x 14 could not). Padded
 * cells repeat the nearest edge value and are 0 in the valid-area mask, which losses and metrics use.
 * Latitudes are kept as stored, 75N -> 15N (north first); the model grid extends them to 82.5N -> 5N.
 *
 * @param dataDir - the shared data folder holding `ncep-air/`
 * @param format - `zarr` (int16, scale_factor 0.01) or `netcdf` (float32, already scaled)
 */
export function ncepAirDescriptor(dataDir: string, format: 'zarr' | 'netcdf' = 'zarr'): DatasetDescriptor {
  const file = format === 'zarr' ? 'air_temperature.zarr' : 'air_temperature_2013-2014.nc';
  return parseDatasetDescriptor({
    name: format === 'zarr' ? 'ncep-air' : 'ncep-air-nc',
    title: 'NCEP/NCAR Reanalysis 1 air temperature at sigma 0.995, North America, 2013-2014',
    source: { format, path: path.resolve(dataDir, 'ncep-air', file) },
    variables: [
      {
        channel: 't',
        source: 'air',
        units: 'K',
        longName: 'air temperature at sigma 0.995',
        role: 'temperature',
      },
    ],
    grid: { kind: 'latlon', lat: { variable: 'lat' }, lon: { variable: 'lon' }, periodicLon: false },
    time: { variable: 'time' },
    // Train, then a validation (alignment) period carved from the end of 2013, then the test year, in time order as
    // the QG world's 70 / 10 / 20 % split: every tuning and alignment choice is made on Nov-Dec 2013, never on 2014.
    periods: {
      train: { start: '2013-01-01T00:00Z', end: '2013-10-31T18:00Z' },
      alignment: { start: '2013-11-01T00:00Z', end: '2013-12-31T18:00Z' },
      test: { start: '2014-01-01T00:00Z', end: '2014-12-31T18:00Z' },
    },
    target: { height: 32, width: 64, fill: 'edge' },
    // One variable: no geostrophic or hydrostatic reward applies.
    diagnostics: [],
    attribution: 'NCEP Reanalysis data provided by the NOAA PSL, Boulder, Colorado, USA',
  });
}
