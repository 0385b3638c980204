import { createRng } from '@alignda/tensor';
import { describe, expect, it } from 'vitest';

import { createQgModel } from './model.js';
import { fft2Flops, RealFft2 } from './spectral.js';

describe('RealFft2', () => {
  it('matches a direct 2-D DFT to 1e-12 (relative) and inverts to 1e-14', () => {
    const [nx, ny] = [16, 8];
    const fft = new RealFft2(nx, ny);
    const f = createRng(1).fillNormal(new Float64Array(nx * ny));
    const spec = new Float64Array(fft.specLength);
    fft.forward(f, spec);
    let maxErr = 0;
    let scale = 0;
    for (let l = 0; l < ny; l++) {
      for (let k = 0; k <= nx / 2; k++) {
        // Reference: F[l, k] = sum f[y, x] exp(-2 pi i (k x / nx + l y / ny)), summed directly.
        let re = 0;
        let im = 0;
        for (let y = 0; y < ny; y++) {
          for (let x = 0; x < nx; x++) {
            const a = -2 * Math.PI * ((k * x) / nx + (l * y) / ny);
            re += (f[y * nx + x] as number) * Math.cos(a);
            im += (f[y * nx + x] as number) * Math.sin(a);
          }
        }
        const m = 2 * (l * (nx / 2 + 1) + k);
        maxErr = Math.max(maxErr, Math.abs((spec[m] as number) - re), Math.abs((spec[m + 1] as number) - im));
        scale = Math.max(scale, Math.hypot(re, im));
      }
    }
    expect(maxErr / scale).toBeLessThan(1e-12);
    const back = new Float64Array(nx * ny);
    fft.inverse(spec, back);
    for (let p = 0; p < nx * ny; p++)
      expect(Math.abs((back[p] as number) - (f[p] as number))).toBeLessThan(1e-14);
  });

  it('counts 5 N log2 N per complex FFT: 64 x 32 with all columns = 16 row FFTs of 64 + 33 column FFTs of 32', () => {
    expect(fft2Flops(64, 32)).toBe(16 * 5 * 64 * 6 + 33 * 5 * 32 * 5);
  });
});

describe('QG state <-> physical field', () => {
  it('reads back its own output: fromField(toField(q)) = q to float32 precision (1e-5 relative)', () => {
    const m = createQgModel();
    const q = m.randomState(createRng(2), 1e7);
    const back = m.fromField(m.toField(q));
    let err = 0;
    let norm = 0;
    for (let r = 0; r < q.length; r++) {
      err += ((back[r] as number) - (q[r] as number)) ** 2;
      norm += (q[r] as number) ** 2;
    }
    // Phi ~ 1e5 m2/s2 is stored in float32 (spacing 0.0078) around anomalies f0 psi ~ 1e3 m2/s2: ~8e-6 relative.
    expect(Math.sqrt(err / norm)).toBeLessThan(1e-5);
    expect(Math.sqrt(err / norm)).toBeGreaterThan(0); // it really went through float32
  });

  it('rejects a field of the wrong shape with a message naming both shapes', () => {
    const m = createQgModel();
    const f = m.toField(m.randomState(createRng(3)));
    expect(() => m.fromField({ ...f, shape: [7, 16, 64] })).toThrow(
      /expected \[7, 32, 64\].*got \[7, 16, 64\]/,
    );
  });
});
