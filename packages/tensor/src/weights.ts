import { TensorError } from './tensor-error.js';

/**
 * Latitude weights of the WeatherBench definition (Rasp et al. 2020, eq. 1):
 * w_i = cos(lat_i) / mean_j cos(lat_j), so that the weights average to 1 over the rows.
 * @param latDeg - row latitudes in degrees, shape [H]
 * @returns shape [H]
 * @throws TensorError `DEGENERATE` when every row is a pole (the mean of cos(lat) is 0)
 */
export function latitudeWeights(latDeg: ArrayLike<number>): Float64Array {
  const H = latDeg.length;
  // cos(+-90 deg) is 6e-17 in floating point: pole rows get exactly 0 weight.
  const w = Float64Array.from({ length: H }, (_, i) => {
    const lat = latDeg[i] as number;
    return Math.abs(lat) >= 90 ? 0 : Math.cos((lat * Math.PI) / 180);
  });
  let sum = 0;
  for (const v of w) sum += v;
  if (!(sum > 0))
    throw new TensorError(
      'DEGENERATE',
      `latitudeWeights: the weights of latitudes [${Array.from(latDeg).join(', ')}] sum to ${sum}`,
    );
  const mean = sum / H;
  for (let i = 0; i < H; i++) w[i] = (w[i] as number) / mean;
  return w;
}
