import type { NatureRun } from './nature-store.js';

/** Summary statistics of a nature run (all over every state and grid point). */
export interface NatureStats {
  /** Per channel: name, units, mean and standard deviation over time and space. */
  readonly channels: readonly { name: string; units: string; mean: number; std: number }[];
  /**
   * Eddy kinetic energy per state, J/kg: 1/2 (u'^2 + v'^2) averaged over the grid and both levels,
   * primes = deviations from the zonal (row) mean. Length = state count.
   */
  readonly eke: Float64Array;
  /** Zonal wavenumber (waves per x period) with the most time-mean power in v_upper. */
  readonly dominantWavenumber: number;
  /** The corresponding wavelength, km (x period / wavenumber). */
  readonly dominantWavelengthKm: number;
}

/** Computes {@link NatureStats} of a loaded run. */
export function natureStats(run: NatureRun): NatureStats {
  const [ny, nx] = [run.grid.latDeg.length, run.grid.lonDeg.length];
  const hw = nx * ny;
  const channels = run.channels.map((name, c) => {
    const s = run.series(c);
    let sum = 0;
    for (const x of s) sum += x;
    const mean = sum / s.length;
    let v = 0;
    for (const x of s) v += (x - mean) ** 2;
    return { name, units: run.units[c] as string, mean, std: Math.sqrt(v / s.length) };
  });
  const wind = ['u_upper', 'u_lower', 'v_upper', 'v_lower'].map((n) => run.series(run.channels.indexOf(n)));
  const eke = new Float64Array(run.count);
  for (let t = 0; t < run.count; t++) {
    let e = 0;
    for (const s of wind) {
      for (let j = 0; j < ny; j++) {
        const row = t * hw + j * nx;
        let m = 0;
        for (let i = 0; i < nx; i++) m += s[row + i] as number;
        m /= nx;
        for (let i = 0; i < nx; i++) e += ((s[row + i] as number) - m) ** 2;
      }
    }
    eke[t] = (0.5 * e) / (2 * hw); // 1/2 (u'^2 + v'^2), mean over points and the 2 levels
  }
  // Time-mean zonal power spectrum of v_upper (every 4th state: daily is plenty), direct DFT per row.
  const v = run.series(run.channels.indexOf('v_upper'));
  const power = new Float64Array(nx / 2 + 1);
  for (let t = 0; t < run.count; t += 4) {
    for (let j = 0; j < ny; j++) {
      const row = t * hw + j * nx;
      for (let n = 1; n <= nx / 2; n++) {
        let re = 0;
        let im = 0;
        for (let i = 0; i < nx; i++) {
          const a = (2 * Math.PI * n * i) / nx;
          re += (v[row + i] as number) * Math.cos(a);
          im += (v[row + i] as number) * Math.sin(a);
        }
        power[n] = (power[n] as number) + re * re + im * im;
      }
    }
  }
  let best = 1;
  for (let n = 2; n <= nx / 2; n++) if ((power[n] as number) > (power[best] as number)) best = n;
  const lxKm = (run.grid.dxM * nx) / 1000;
  return { channels, eke, dominantWavenumber: best, dominantWavelengthKm: lxKm / best };
}
