/**
 * The netCDF and the Zarr zip the gateway serves, opened by xarray (Debian's python3-xarray, python3-netcdf4 and
 * python3-zarr; .ci/run installs them): the same variables, coordinates and values through both. Skipped, saying why,
 * where no python3 imports the three.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { redisProblem, startGateway, storeResult } from './test-harness.js';
import type { StoredResult, TestGateway } from './test-harness.js';

/** The first python3 that imports xarray, netCDF4 and zarr: ALIGNDA_PYTHON, python3 on PATH, Debian's. */
function findPython(): string | undefined {
  const candidates = [process.env.ALIGNDA_PYTHON, 'python3', '/usr/bin/python3'].filter(
    (c): c is string => c !== undefined && c !== '',
  );
  return candidates.find(
    (python) => spawnSync(python, ['-c', 'import xarray, netCDF4, zarr'], { encoding: 'utf8' }).status === 0,
  );
}

const python = findPython();
const redis = await redisProblem();
const why =
  python === undefined
    ? 'no python3 imports xarray, netCDF4 and zarr (apt-get install python3-xarray python3-netcdf4 python3-zarr)'
    : redis !== null
      ? `no Redis for the test gateway: ${redis}`
      : undefined;

/** Opens both files and reports what xarray sees, as JSON. */
const SCRIPT = `
import json, sys
import numpy as np
import xarray as xr
import zarr

nc = xr.open_dataset(sys.argv[1], engine="netcdf4")
zs = xr.open_zarr(zarr.storage.ZipStore(sys.argv[2], mode="r"), consolidated=True)
same = {v: bool(np.array_equal(nc[v].values, zs[v].values, equal_nan=True)) for v in nc.data_vars}
print(json.dumps({
    "nc_vars": sorted(nc.data_vars),
    "zarr_vars": sorted(zs.data_vars),
    "nc_coords": sorted(nc.coords),
    "zarr_coords": sorted(zs.coords),
    "time": [str(nc.time.values[0]), str(zs.time.values[0])],
    "same": same,
    "members_dims": list(zs["t_members"].dims),
    "members_shape": list(zs["t_members"].shape),
    "t_units": zs["t"].attrs.get("units"),
    "t_nan": int(np.isnan(zs["t"].values).sum()),
    "t_00": float(zs["t"].values[0, 0, 0]),
    "lat": [float(x) for x in zs["lat"].values],
    "method": zs.attrs.get("method"),
}))
`;

describe.skipIf(why !== undefined)(
  `xarray opens what the gateway serves${why === undefined ? '' : ` (SKIPPED: ${why})`}`,
  () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'alignda-xarray-'));
    let gw: TestGateway;
    let r: StoredResult;
    beforeAll(async () => {
      gw = await startGateway();
      r = await storeResult(gw, { members: 3 });
    });
    afterAll(async () => {
      await gw.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('reads the netCDF and the Zarr zip to the same variables, coordinates and values', async () => {
      const fetchTo = async (query: string, name: string): Promise<string> => {
        const res = await fetch(`${gw.base}/v1/assimilations/${r.id}/analysis${query}`, {
          headers: { authorization: `Bearer ${gw.tokens.read}` },
        });
        expect(res.status).toBe(200);
        const file = path.join(dir, name);
        writeFileSync(file, Buffer.from(await res.arrayBuffer()));
        return file;
      };
      const nc = await fetchTo('?format=netcdf&members=true&background=true', 'analysis.nc');
      const zip = await fetchTo('?format=zarr&members=true&background=true', 'analysis.zarr.zip');
      const run = spawnSync(python ?? 'python3', ['-c', SCRIPT, nc, zip], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      const seen = JSON.parse(run.stdout) as {
        nc_vars: string[];
        zarr_vars: string[];
        nc_coords: string[];
        zarr_coords: string[];
        time: string[];
        same: Record<string, boolean>;
        members_dims: string[];
        members_shape: number[];
        t_units: string;
        t_nan: number;
        t_00: number;
        lat: number[];
        method: string;
      };
      const fields = r.channels.flatMap((c) => [c, `${c}_spread`, `${c}_members`, `${c}_background`]).sort();
      expect(seen.nc_vars).toEqual(fields);
      expect(seen.zarr_vars).toEqual(fields);
      expect(seen.zarr_coords).toEqual(seen.nc_coords);
      expect(seen.zarr_coords).toEqual(expect.arrayContaining(['lat', 'lon', 'time', 'member', 'y', 'x']));
      expect(seen.time).toEqual(['2000-01-10T06:00:00.000000000', '2000-01-10T06:00:00.000000000']);
      expect(Object.values(seen.same).every(Boolean)).toBe(true);
      expect(seen.members_dims).toEqual(['time', 'member', 'y', 'x']);
      expect(seen.members_shape).toEqual([1, r.members, ...r.shape]);
      expect(seen.t_units).toBe('K');
      expect(seen.t_nan).toBe(1); // the cell outside the valid area, _FillValue decoded to NaN
      expect(seen.t_00).toBe(r.mean[0]);
      expect(seen.lat).toHaveLength(r.shape[0]);
      expect(seen.method).toBe('dps');
    });
  },
);
