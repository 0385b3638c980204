import { describe, expect, it } from 'vitest';

import { expiryCutoff, planSweep } from './retention.js';
import type { FolderJob } from './retention.js';

const now = new Date('2026-03-10T12:00:00Z');
const cutoff = expiryCutoff(now, 24);
const hoursAgo = (h: number): Date => new Date(now.getTime() - h * 3_600_000);

describe('expiryCutoff', () => {
  it('is the retention before now', () => {
    expect(cutoff.toISOString()).toBe('2026-03-09T12:00:00.000Z');
    expect(expiryCutoff(now, 0.5).toISOString()).toBe('2026-03-10T11:30:00.000Z');
  });
});

describe('planSweep', () => {
  it("expires the analyses whose job finished before the cutoff, by the row's creation when the job is gone", () => {
    const plan = planSweep(
      cutoff,
      [
        { id: 'old', finishedAt: hoursAgo(25), createdAt: hoursAgo(25) },
        { id: 'new', finishedAt: hoursAgo(23), createdAt: hoursAgo(23) },
        { id: 'orphan-row', finishedAt: null, createdAt: hoursAgo(30) },
        { id: 'edge', finishedAt: cutoff, createdAt: cutoff },
      ],
      [],
      () => undefined,
    );
    expect(plan.expire).toEqual(['old', 'orphan-row']);
    expect(plan.removeFolders).toEqual([]);
  });

  it('removes old folders of failed, cancelled or unknown jobs, never those of open jobs or kept analyses', () => {
    const jobs = new Map<string, FolderJob>([
      ['failed-old', { status: 'failed', finishedAt: hoursAgo(48) }],
      ['failed-new', { status: 'failed', finishedAt: hoursAgo(1) }],
      ['cancelled-old', { status: 'cancelled', finishedAt: hoursAgo(48) }],
      ['running-old', { status: 'running', finishedAt: null }],
      ['queued-old', { status: 'queued', finishedAt: null }],
      ['succeeded-norow', { status: 'succeeded', finishedAt: hoursAgo(48) }],
    ]);
    const old = hoursAgo(100).getTime();
    const folders = [
      ...[...jobs.keys()].map((name) => ({ name, modifiedMs: old })),
      { name: 'kept', modifiedMs: old },
      { name: 'stray-old', modifiedMs: old },
      { name: 'stray-new', modifiedMs: hoursAgo(2).getTime() },
    ];
    const plan = planSweep(
      cutoff,
      [{ id: 'kept', finishedAt: hoursAgo(2), createdAt: hoursAgo(2) }],
      folders,
      (name) => jobs.get(name),
    );
    expect(plan.expire).toEqual([]);
    expect(plan.removeFolders).toEqual(['failed-old', 'cancelled-old', 'succeeded-norow', 'stray-old']);
  });
});
