/**
 * CPU time accounting of the platform benchmark (bench/platform.ts): per-process CPU seconds from
 * `/proc/<pid>/stat` (utime + stime, every thread of the process), the machine's busy CPU seconds from `/proc/stat`,
 * Redis's own CPU seconds from `INFO cpu`, and the throughput bound of issue 13 derived from them (see
 * {@link samplerRatioBound}). Linux only: elsewhere the per-process figures are missing and the bench says so.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import type { Redis } from 'ioredis';

/** Clock ticks per second of /proc's counters (`getconf CLK_TCK`; 100 on every Linux we run on). */
const CLK_TCK = ((): number => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

/**
 * utime + stime, in clock ticks, of one `/proc/<pid>/stat` line, or undefined when it is not one. The command name
 * (field 2) may hold spaces and parentheses, so fields are counted after its last ')'.
 */
export function statCpuTicks(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ") ": state (field 3), ..., utime (field 14), stime (field 15).
  const rest = stat.slice(close + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return rest.length > 12 && Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : undefined;
}

/** CPU seconds (user + system, all threads) a live process has used, or undefined when it is gone or /proc is missing. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const ticks = statCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return ticks === undefined ? undefined : ticks / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Busy CPU seconds of the whole machine, all cores (`/proc/stat`'s first line less idle and iowait), or NaN. */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user)
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    const busy = [user, nice, system, irq, softirq, steal].reduce<number>((a, v) => a + (v ?? 0), 0);
    return busy / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds the Redis server has used (`used_cpu_user` + `used_cpu_sys` of INFO cpu), or NaN. */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  try {
    const info = await redis.info('cpu');
    const field = (name: string): number => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1]);
    return field('used_cpu_user') + field('used_cpu_sys');
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds used so far, per labelled process and in total. */
export interface CpuSnapshot {
  /** Date.now() when taken. */
  readonly at: number;
  /** Label (`sampler`, `orchestrator`, ...) -> CPU seconds of that process; undefined when unreadable. */
  readonly processes: ReadonlyMap<string, number | undefined>;
  /** The Redis server's CPU seconds (the whole server). */
  readonly redis: number;
  /** This process's CPU seconds (the bench: HTTP client, polling, in-process reference, load generator). */
  readonly self: number;
  /** Busy CPU seconds of the whole machine. */
  readonly machine: number;
}

/** Takes a {@link CpuSnapshot} of the processes `pids` (label -> pid). */
export async function cpuSnapshot(pids: ReadonlyMap<string, number>, redis: Redis): Promise<CpuSnapshot> {
  const processes = new Map<string, number | undefined>();
  for (const [label, pid] of pids) processes.set(label, processCpuSeconds(pid));
  const self = process.cpuUsage();
  return {
    at: Date.now(),
    processes,
    redis: await redisCpuSeconds(redis),
    self: (self.user + self.system) / 1e6,
    machine: machineBusySeconds(),
  };
}

/** CPU seconds used between two snapshots. */
export interface CpuDelta {
  /** Wall seconds between the snapshots. */
  readonly wallS: number;
  /** Label -> CPU seconds (NaN when either snapshot could not read the process). */
  readonly processes: ReadonlyMap<string, number>;
  readonly redis: number;
  readonly self: number;
  readonly machine: number;
  /** Machine busy time not accounted to the listed processes, Redis or the bench: other users of the machine. */
  readonly outside: number;
}

/** The CPU seconds used from `a` to `b`. */
export function cpuDelta(a: CpuSnapshot, b: CpuSnapshot): CpuDelta {
  const processes = new Map<string, number>();
  for (const [label, end] of b.processes) {
    const start = a.processes.get(label);
    processes.set(label, start === undefined || end === undefined ? Number.NaN : end - start);
  }
  const redis = b.redis - a.redis;
  const self = b.self - a.self;
  const machine = b.machine - a.machine;
  const ours = [...processes.values()].reduce((s, v) => s + (Number.isFinite(v) ? v : 0), 0);
  return {
    wallS: (b.at - a.at) / 1000,
    processes,
    redis,
    self,
    machine,
    outside: machine - ours - (Number.isFinite(redis) ? redis : 0) - self,
  };
}

/**
 * Issue 13's bound on (throughput with 2 sampler replicas) / (throughput with 1), from the CPU a job needs: S seconds
 * in sampler processes, N seconds in every other process of the platform (orchestrator, encoder, forecast, reward,
 * ingest, gateway, the `alignda up` supervisor, Redis), on C cores.
 *
 * A replica samples one job at a time on one onnxruntime thread (ALIGNDA_INTRA_OP_THREADS=1), so n replicas finish
 * at most n/S jobs a second; all processes together finish at most C/(S+N) a second, whatever their number. Hence
 * T_n <= min(n/S, C/(S+N)) and, with the 1-replica run at its own limit,
 *
 *   B = min(2/S, C/(S+N)) / min(1/S, C/(S+N)) = min(2, C·S/(S+N)) / min(1, C·S/(S+N)).
 *
 * B = 2 when the cores can feed both replicas (C·S/(S+N) >= 2); between 1 and 2 when the non-sampler work takes the
 * cores a second replica would need (on 2 cores: B = 2S/(S+N) once S >= N); 1 when one replica already leaves no
 * core idle.
 * @param samplerS - S: sampler CPU seconds per job
 * @param otherS - N: all other processes' CPU seconds per job
 * @param cores - C: cores of the machine
 */
export function samplerRatioBound(samplerS: number, otherS: number, cores: number): number {
  const share = (cores * samplerS) / (samplerS + otherS);
  return Math.min(2, share) / Math.min(1, share);
}

/** Issue 13's target for the 2 / 1 sampler throughput ratio: 1.8, or 0.9 of the bound where that is lower. */
export function samplerRatioTarget(bound: number): number {
  return Math.min(1.8, 0.9 * bound);
}
