/**
 * A small one-variable daily dataset, as a netCDF file's contents ({@link NcFile}): a smooth temperature-like field
 * with a seasonal cycle, a travelling wave and seeded noise. For trying the dataset commands and for tests of a
 * dataset whose step is not 6 h; written with `writeNetcdfClassic` (netCDF3) or `zarrZipOfNetcdf` (Zarr v2).
 */
import type { NcFile } from '../format/netcdf-classic.js';

/** Options of {@link syntheticDailyDataset}. */
export interface SyntheticDailyOptions {
  /** Days of data. @defaultValue 730 (two years: a train year and a test year) */
  readonly days?: number;
  /** Rows (latitudes). @defaultValue 16 */
  readonly height?: number;
  /** Columns (longitudes). @defaultValue 16 */
  readonly width?: number;
  /** Noise seed. @defaultValue 1 */
  readonly seed?: number;
  /** First day (ISO date). @defaultValue '2000-01-01' */
  readonly start?: string;
  /** Hours between time steps. @defaultValue 24 (daily) */
  readonly stepHours?: number;
}

/** mulberry32: a 32-bit seeded generator, enough for test noise. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * The dataset: `t2m(time, lat, lon)` in K (float32), `lat` from 60N southward and `lon` from 230E eastward every
 * 2.5 degrees, `time` in `days since <start>` (or hours when the step is not whole days).
 * t2m = 280 - 0.4 (lat - 45) + 10 cos(2 pi (day - 200) / 365) + 2 sin(2 pi (lon / 40 - day / 10)) + N(0, 0.5).
 */
export function syntheticDailyDataset(o: SyntheticDailyOptions = {}): NcFile {
  const T = o.days ?? 730;
  const H = o.height ?? 16;
  const W = o.width ?? 16;
  const stepHours = o.stepHours ?? 24;
  const rand = mulberry32(o.seed ?? 1);
  const lat = Float64Array.from({ length: H }, (_, i) => 60 - 2.5 * i);
  const lon = Float64Array.from({ length: W }, (_, j) => 230 + 2.5 * j);
  const data = new Float32Array(T * H * W);
  for (let t = 0; t < T; t++) {
    const day = (t * stepHours) / 24;
    const season = 10 * Math.cos((2 * Math.PI * (day - 200)) / 365);
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        // Box-Muller normal from two uniforms.
        const noise = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
        const wave = 2 * Math.sin(2 * Math.PI * ((lon[j] as number) / 40 - day / 10));
        data[(t * H + i) * W + j] = 280 - 0.4 * ((lat[i] as number) - 45) + season + wave + 0.5 * noise;
      }
    }
  }
  const start = o.start ?? '2000-01-01';
  const inDays = stepHours % 24 === 0;
  return {
    dimensions: [
      { name: 'time', size: T },
      { name: 'lat', size: H },
      { name: 'lon', size: W },
    ],
    variables: [
      {
        name: 'time',
        dimensions: ['time'],
        type: 'double',
        attributes: { units: `${inDays ? 'days' : 'hours'} since ${start} 00:00:00`, calendar: 'standard' },
        data: Float64Array.from({ length: T }, (_, t) => (inDays ? (t * stepHours) / 24 : t * stepHours)),
      },
      { name: 'lat', dimensions: ['lat'], type: 'double', attributes: { units: 'degrees_north' }, data: lat },
      { name: 'lon', dimensions: ['lon'], type: 'double', attributes: { units: 'degrees_east' }, data: lon },
      {
        name: 't2m',
        dimensions: ['time', 'lat', 'lon'],
        type: 'float',
        attributes: { units: 'K', long_name: '2 m temperature (synthetic)' },
        data,
      },
    ],
    attributes: { title: 'synthetic daily 2 m temperature', Conventions: 'CF-1.8' },
  };
}
