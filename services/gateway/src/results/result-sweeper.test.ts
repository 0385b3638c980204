import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { openDatabase } from '@alignda/db';
import type { Db } from '@alignda/db';
import { createLogger } from '@alignda/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startResultSweeper, sweepResults } from './result-sweeper.js';

const dir = mkdtempSync(path.join(tmpdir(), 'alignda-sweeper-'));
const homeDir = path.join(dir, 'home');
const logger = createLogger({ service: 'gateway', level: 'silent' });
const HOUR = 3_600_000;
const now = new Date('2026-03-10T12:00:00Z');
const ago = (hours: number): Date => new Date(now.getTime() - hours * HOUR);

let db: Db;
let datasetId: string;
beforeAll(async () => {
  db = await openDatabase({
    databaseUrl: `file:${path.join(dir, 'alignda.db')}`,
    startupProbeTimeoutMs: 2000,
  });
  datasetId = (await db.dataset.create({ data: { name: 'qg', kind: 'qg', descriptor: {} } })).id;
});
afterAll(async () => {
  await db.$disconnect();
  rmSync(dir, { recursive: true, force: true });
});

/** A result folder with one file, last modified `hours` ago. */
function folder(id: string, hours: number): string {
  const p = path.join(homeDir, 'results', id);
  mkdirSync(p, { recursive: true });
  writeFileSync(path.join(p, 'analysis.nc'), 'CDF');
  const t = ago(hours);
  utimesSync(p, t, t);
  return p;
}

/** A job of `status` that finished `hours` ago (open jobs have not), with its folder; an Analysis row if it succeeded. */
async function job(status: 'succeeded' | 'failed' | 'cancelled' | 'running', hours: number): Promise<string> {
  const id = randomUUID();
  const open = status === 'running';
  await db.job.create({
    data: { id, kind: 'assimilate', status, request: {}, ...(open ? {} : { finishedAt: ago(hours) }) },
  });
  folder(id, hours);
  if (status === 'succeeded')
    await db.analysis.create({
      data: {
        id,
        jobId: id,
        datasetId,
        validTime: now,
        members: 1,
        artifactPaths: { analysis: path.join('results', id, 'analysis.nc') },
      },
    });
  return id;
}

describe('sweepResults', () => {
  it('removes the results past the retention, marks their rows expired, and leaves the rest', async () => {
    const old = await job('succeeded', 30);
    const fresh = await job('succeeded', 2);
    const failedOld = await job('failed', 30);
    const failedNew = await job('failed', 2);
    const cancelledOld = await job('cancelled', 30);
    const running = await job('running', 30);
    const strayOld = randomUUID();
    folder(strayOld, 30);
    const strayNew = randomUUID();
    folder(strayNew, 1);

    const out = await sweepResults({ db, homeDir, ttlHours: 24, logger }, now);
    expect(out.expired).toEqual([old]);
    expect([...out.removed].sort()).toEqual([failedOld, cancelledOld, strayOld].sort());
    const there = (id: string): boolean => existsSync(path.join(homeDir, 'results', id));
    expect([old, failedOld, cancelledOld, strayOld].map(there)).toEqual([false, false, false, false]);
    expect([fresh, failedNew, running, strayNew].map(there)).toEqual([true, true, true, true]);
    expect(await db.analysis.findUniqueOrThrow({ where: { id: old } })).toMatchObject({
      expiredAt: now,
      artifactPaths: {},
    });
    expect((await db.analysis.findUniqueOrThrow({ where: { id: fresh } })).expiredAt).toBeNull();

    // Sweeping again changes nothing.
    expect(await sweepResults({ db, homeDir, ttlHours: 24, logger }, now)).toEqual({
      expired: [],
      removed: [],
    });
  });

  it('does nothing when there is no results folder yet', async () => {
    const empty = path.join(dir, 'empty-home');
    expect(await sweepResults({ db, homeDir: empty, ttlHours: 1e6, logger }, now)).toEqual({
      expired: [],
      removed: [],
    });
  });
});

describe('startResultSweeper', () => {
  it('sweeps at once and stops', async () => {
    const id = await job('succeeded', 24 * 400); // a year and more before the fixed `now`: long expired today
    const sweeper = startResultSweeper({ db, homeDir, ttlHours: 24, logger }, 60_000);
    await sweeper.stop();
    expect(existsSync(path.join(homeDir, 'results', id))).toBe(false);
    expect((await db.analysis.findUniqueOrThrow({ where: { id } })).expiredAt).toBeInstanceOf(Date);
  });
});
