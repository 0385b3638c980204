/**
 * The platform benchmark's CPU accounting (bench/platform-cpu.ts): the /proc stat parsing, the per-run deltas and
 * issue 13's bound on the 2 / 1 sampler throughput ratio, on values worked out by hand.
 */
import { describe, expect, it } from 'vitest';

import { cpuDelta, samplerRatioBound, samplerRatioTarget, statCpuTicks } from '../../bench/platform-cpu.js';
import type { CpuSnapshot } from '../../bench/platform-cpu.js';

describe('statCpuTicks', () => {
  it('adds utime and stime (fields 14 and 15) of a /proc/<pid>/stat line', () => {
    const line = '4864 (cat) R 4785 4785 20302 0 -1 4194304 123 0 0 0 250 31 0 0 20 0 1 0 306395 3133440 381';
    expect(statCpuTicks(line)).toBe(281);
  });

  it('counts fields after the last parenthesis, whatever the command name holds', () => {
    const line = '77 (node (main) x) S 1 77 77 0 -1 4194560 9 0 0 0 1200 300 0 0 20 0 11 0 5 6 7';
    expect(statCpuTicks(line)).toBe(1500);
  });

  it('answers undefined for a line that is not a stat line', () => {
    expect(statCpuTicks('')).toBeUndefined();
    expect(statCpuTicks('12 (short) R 1 2')).toBeUndefined();
  });
});

describe('cpuDelta', () => {
  const snapshot = (at: number, sampler: number | undefined, redis: number, self: number, machine: number) =>
    ({
      at,
      processes: new Map([
        ['sampler', sampler],
        ['gateway', at / 1000],
      ]),
      redis,
      self,
      machine,
    }) satisfies CpuSnapshot;

  it('gives each process its CPU seconds and leaves the rest of the busy time to other users', () => {
    const d = cpuDelta(snapshot(1000, 5, 2, 1, 100), snapshot(11_000, 12, 2.5, 1.5, 120));
    expect(d.wallS).toBe(10);
    expect(d.processes.get('sampler')).toBe(7);
    expect(d.processes.get('gateway')).toBe(10);
    expect(d.redis).toBe(0.5);
    expect(d.self).toBe(0.5);
    // 20 busy seconds: 7 + 10 of the platform, 0.5 of Redis, 0.5 of the bench.
    expect(d.outside).toBeCloseTo(2, 12);
  });

  it('marks a process it could not read in either snapshot as NaN and leaves it out of the sums', () => {
    const d = cpuDelta(snapshot(0, undefined, 0, 0, 0), snapshot(1000, 3, 0, 0, 4));
    expect(d.processes.get('sampler')).toBeNaN();
    expect(d.outside).toBe(3); // 4 busy, 1 of the gateway
  });
});

describe('samplerRatioBound', () => {
  it('is 2 when the cores can feed both replicas', () => {
    expect(samplerRatioBound(1, 0, 4)).toBe(2);
    expect(samplerRatioBound(3, 1, 4)).toBe(2); // C·S/(S+N) = 3
  });

  it('is C·S/(S+N) when the other processes take part of the second core', () => {
    expect(samplerRatioBound(3, 1, 2)).toBe(1.5);
    expect(samplerRatioBound(2, 1, 2)).toBeCloseTo(4 / 3, 12);
  });

  it('is 1 when one replica and the rest already fill the cores', () => {
    expect(samplerRatioBound(1, 1, 2)).toBe(1);
    expect(samplerRatioBound(1, 3, 2)).toBe(1); // C·S/(S+N) = 0.5: no gain from a second replica
  });
});

describe('samplerRatioTarget', () => {
  it('asks 1.8, or 0.9 of the bound where that is lower', () => {
    expect(samplerRatioTarget(2)).toBe(1.8);
    expect(samplerRatioTarget(1.5)).toBeCloseTo(1.35, 12);
    expect(samplerRatioTarget(1)).toBe(0.9);
  });
});
