/**
 * The work the chaos run keeps in flight while it kills processes: small DPS assimilation jobs (POST
 * /v1/assimilations with an Idempotency-Key, so that a POST whose answer a killed gateway lost is sent again without
 * making a second job) and simulated-time cycles (POST /v1/cycles, 3D-Var and the LETKF with the e2e's small tuning,
 * the same settings and seeds for every cycle, so that each one's series must equal the reference's). `topUp()` keeps
 * a number of each unfinished, bounded in total.
 */
import type { Db } from '@alignda/db';

/** The assimilation request of every job: the e2e's small DPS job (2 members, 8 steps, three observations). */
export const JOB_REQUEST = {
  source: { world: 'qg' },
  validTime: '2001-01-23T00:00Z',
  method: 'dps',
  members: 2,
  steps: 8,
  seed: 5,
  observations: {
    cells: [
      { channel: 't', row: 10, col: 10, value: 250, sigma: 0.5 },
      { channel: 't', row: 20, col: 40, value: 245, sigma: 0.5 },
      { channel: 'u_upper', row: 5, col: 3, value: 12, sigma: 2 },
    ],
  },
} as const;

/** tests/e2e/cycle.test.ts's tuning: one candidate each, short offline cycles, the one-year training run. */
export const CYCLE_TUNING = {
  pairs48: 8,
  offlineCycles: 6,
  offlineBurnIn: 2,
  tuneCycles: 4,
  lengthScalesKm: [1000],
  inflations: [1],
  rtps: [0.5],
  halfWidthsKm: [4000],
  maxLeadHours: 24,
  cgTol: 1e-4,
} as const;

/** The settings of every cycle of a run (the request body but its name). */
export interface CycleSettings {
  readonly preset: 'small';
  readonly methods: readonly string[];
  readonly cycles: number;
  readonly members: number;
  readonly skillEvery: number;
  readonly pace: 'simulated';
  readonly tuning: typeof CYCLE_TUNING;
}

/** Cycle settings of `steps` steps. */
export function cycleSettings(steps: number): CycleSettings {
  return {
    preset: 'small',
    methods: ['3dvar', 'letkf'],
    cycles: steps,
    members: 8,
    skillEvery: 2,
    pace: 'simulated',
    tuning: CYCLE_TUNING,
  };
}

/** A job or cycle the run submitted, with the part of the run it belongs to. */
export interface Submitted {
  readonly id: string;
  readonly name: string;
  /** `kills`, `redis-restart` or `postgres-restart`. */
  readonly scenario: string;
}

/** Options of {@link Workload}. */
export interface WorkloadOptions {
  readonly gatewayUrl: string;
  readonly token: string;
  readonly db: Db;
  readonly seed: number;
  readonly settings: CycleSettings;
  readonly log: (line: string) => void;
}

const UNFINISHED_JOB = ['queued', 'running'] as const;
const UNFINISHED_CYCLE = ['pending', 'running', 'paused'] as const;

/** The jobs and cycles of a run; see the module comment. */
export class Workload {
  readonly jobs: Submitted[] = [];
  readonly cycles: Submitted[] = [];
  /** POSTs not answered yet (the gateway was down): sent again, with the same key or name, by the next topUp. */
  private pendingJob: { key: string; seed: number; scenario: string } | undefined;
  private pendingCycle: { name: string; scenario: string } | undefined;
  private jobCount = 0;
  private cycleCount = 0;

  constructor(private readonly o: WorkloadOptions) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.o.token}`, 'content-type': 'application/json', ...extra };
  }

  /**
   * Submits one job, or sends the pending one again; resolves with whether it is in. A refusal other than an
   * unavailable gateway is thrown: the request is the run's own and must be accepted.
   */
  async submitJob(scenario: string): Promise<boolean> {
    if (this.pendingJob === undefined) {
      const n = this.jobCount++;
      this.pendingJob = { key: `chaos-${this.o.seed}-job-${n}`, seed: n, scenario };
    }
    const p = this.pendingJob;
    let res: Response;
    try {
      res = await fetch(`${this.o.gatewayUrl}/v1/assimilations`, {
        method: 'POST',
        headers: this.headers({ 'idempotency-key': p.key }),
        body: JSON.stringify({ ...JOB_REQUEST, seed: p.seed }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch {
      return false; // the gateway is down or restarting: the same key goes again
    }
    if (res.status >= 500 || res.status === 429) return false;
    const body = (await res.json()) as { id?: string; detail?: string };
    if ((res.status !== 202 && res.status !== 200) || body.id === undefined)
      throw new Error(`POST /v1/assimilations: ${res.status} ${body.detail ?? JSON.stringify(body)}`);
    if (!this.jobs.some((j) => j.id === body.id))
      this.jobs.push({ id: body.id, name: p.key, scenario: p.scenario });
    this.pendingJob = undefined;
    return true;
  }

  /** Starts one cycle, or sends the pending one again (a name already taken is looked up: its POST went in). */
  async startCycle(scenario: string): Promise<string | undefined> {
    if (this.pendingCycle === undefined)
      this.pendingCycle = { name: `chaos-${this.o.seed}-cycle-${this.cycleCount++}`, scenario };
    const p = this.pendingCycle;
    let res: Response;
    try {
      res = await fetch(`${this.o.gatewayUrl}/v1/cycles`, {
        method: 'POST',
        headers: this.headers(),
        body: JSON.stringify({ ...this.o.settings, name: p.name }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch {
      return undefined;
    }
    let id: string | undefined;
    if (res.status === 409) {
      const row = await this.o.db.cycle.findUnique({ where: { name: p.name }, select: { id: true } });
      id = row?.id;
    } else if (res.status >= 500 || res.status === 429) return undefined;
    else {
      const body = (await res.json()) as { id?: string; detail?: string };
      if (res.status !== 202 || body.id === undefined)
        throw new Error(`POST /v1/cycles: ${res.status} ${body.detail ?? JSON.stringify(body)}`);
      id = body.id;
    }
    if (id === undefined) throw new Error(`POST /v1/cycles: 409 but no cycle named ${p.name}`);
    this.cycles.push({ id, name: p.name, scenario: p.scenario });
    this.pendingCycle = undefined;
    this.o.log(`started cycle ${p.name} (${id})`);
    return id;
  }

  /** Jobs of the run not finished yet (queued or running rows). */
  async unfinishedJobs(): Promise<number> {
    return this.o.db.job.count({
      where: { id: { in: this.jobs.map((j) => j.id) }, status: { in: [...UNFINISHED_JOB] } },
    });
  }

  /** Cycles of the run not finished yet. */
  async unfinishedCycles(): Promise<number> {
    return this.o.db.cycle.count({
      where: { id: { in: this.cycles.map((c) => c.id) }, status: { in: [...UNFINISHED_CYCLE] } },
    });
  }

  /** Steps recorded of a cycle. */
  async stepsDone(cycleId: string): Promise<number> {
    return this.o.db.cycleStep.count({ where: { cycleId, status: 'succeeded' } });
  }

  /** Keeps `jobs` jobs and `cycles` cycles unfinished while fewer than `maxJobs` jobs were submitted. */
  async topUp(jobs: number, cycles: number, maxJobs: number, scenario: string): Promise<void> {
    try {
      if (
        this.pendingJob !== undefined ||
        ((await this.unfinishedJobs()) < jobs && this.jobs.length < maxJobs)
      )
        await this.submitJob(scenario);
      if (this.pendingCycle !== undefined || (await this.unfinishedCycles()) < cycles)
        await this.startCycle(scenario);
    } catch (err) {
      // A database read that failed while a service restarts: the next tick tries again.
      this.o.log(`top-up: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
