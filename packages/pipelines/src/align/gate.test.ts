import { describe, expect, it } from 'vitest';

import { gateReasons } from './gate.js';

const change = (ci95: [number, number]) => ({ change: (ci95[0] + ci95[1]) / 2, ci95, p: 0.1, n: 8 });

describe('gateReasons', () => {
  it("holds when every mode's analysis-MSE interval ends at or below 0 and no Geo-Score interval lies below 0", () => {
    expect(
      gateReasons({
        dps: { mse: change([-0.04, 0]) },
        obsfree: { mse: change([-0.1, -0.02]), geoScore: change([-0.01, 0.02]) },
      }),
    ).toEqual([]);
  });

  it('fails a mode whose MSE interval reaches above 0, naming the interval', () => {
    expect(gateReasons({ dps: { mse: change([-0.01, 0.03]) } })).toEqual([
      'dps: the 95 % interval of the relative analysis-MSE change is [-1.00 %, +3.00 %]: its upper end is above 0',
    ]);
  });

  it('fails a Geo-Score loss, and an empty verdict', () => {
    expect(gateReasons({ dps: { mse: change([-0.1, -0.05]), geoScore: change([-0.03, -0.01]) } })[0]).toMatch(
      /^dps: Geo-Score loss/,
    );
    expect(gateReasons({})).toEqual(['no latent mode was judged']);
  });
});
