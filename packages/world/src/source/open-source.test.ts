import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { datasetSource } from './open-source.js';

const repoRoot = path.resolve(fileURLToPath(import.meta.url), '../../../../..');
const dataDir = path.resolve(repoRoot, '../shared/data');
const haveData = existsSync(path.join(dataDir, 'ncep-air'));
const skipNote = `real data absent at ${dataDir} (see the project README for how to obtain it)`;

describe('datasetSource', () => {
  it("gives ncep-air's train, alignment (validation, from 2013) and test (2014) periods, in time order without overlap", async (ctx) => {
    ctx.skip(!haveData, skipNote);
    const src = await datasetSource(dataDir, 'ncep-air');
    const { train, alignment, test } = src.periods;
    expect(train).toEqual([0, 1216]);
    expect(alignment).toEqual([1216, 1460]);
    expect(test).toEqual([1460, 2920]);
    expect(src.timeOf(1215)).toBe('2013-10-31T18');
    expect(src.timeOf(1459)).toBe('2013-12-31T18');
    expect(src.timeOf(1460)).toBe('2014-01-01T00');
  });
});
