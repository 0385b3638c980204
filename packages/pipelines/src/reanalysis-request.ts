/**
 * A reanalysis (issue 14, item 4): a time range of a nature run analysed by K independent cycled streams, each a
 * cycle that starts `spinUp` steps before its segment (those analyses are discarded) and writes the rest into one
 * store. The request schema POST /v1/reanalyses validates, and the cut of the range into the streams' cycle requests.
 */
import { z } from 'zod';

import { cycleOptionsOf, cycleRequestSchema, cycleSourceYears, parseCycleRequest } from './cycle-request.js';
import type { CycleRequest } from './cycle-request.js';
import { CYCLE_METHODS } from './cycle-types.js';

/** The request: the range, the streams, and the cycle settings every stream shares (those of `/v1/cycles`). */
export const reanalysisRequestSchema = cycleRequestSchema
  .pick({
    world: true,
    seed: true,
    trainSeed: true,
    preset: true,
    intervalHours: true,
    forecast: true,
    members: true,
    latentMembers: true,
    latentPrior: true,
    obsFraction: true,
    noise: true,
    sampleSeed: true,
    tuning: true,
  })
  .extend({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'must be 1 to 48 lower-case letters, digits and dashes')
      .optional(),
    method: z.enum(CYCLE_METHODS).default('letkf'),
    /** State index of the first analysis of the range (>= 1: the state before it is the first background's start). */
    from: z.number().int().min(1).max(10_000_000),
    /** Analyses in the range. */
    steps: z.number().int().min(1).max(100_000),
    /** Independent streams the range is cut into, run in parallel by the cycle service's replicas. */
    streams: z.number().int().min(1).max(64).default(2),
    /** Steps each stream cycles before its segment, discarded (not before the nature run's start). */
    spinUp: z.number().int().min(0).max(10_000).default(8),
  });
/** A reanalysis request, defaults applied. */
export type ReanalysisRequest = z.output<typeof reanalysisRequestSchema>;

/**
 * The streams' cycle settings: the range's analyses cut into `streams` segments; each stream starts `spinUp` steps
 * before its segment (at the nature run's start at the earliest) and keeps its segment's analyses.
 */
export function reanalysisStreams(id: string, name: string, r: ReanalysisRequest): CycleRequest[] {
  const per = r.intervalHours / 6;
  const K = Math.min(r.streams, r.steps);
  const cut = (k: number): number => Math.round((k * r.steps) / K);
  const lastState = r.from + (r.steps - 1) * per;
  const common = {
    world: r.world,
    seed: r.seed,
    trainSeed: r.trainSeed,
    preset: r.preset,
    methods: [r.method],
    intervalHours: r.intervalHours,
    forecast: r.forecast,
    members: r.members,
    latentMembers: r.latentMembers,
    ...(r.latentPrior === undefined ? {} : { latentPrior: r.latentPrior }),
    obsFraction: r.obsFraction,
    noise: r.noise,
    skillEvery: 0,
    sampleSeed: r.sampleSeed,
    pace: 'simulated' as const,
    ...(r.tuning === undefined ? {} : { tuning: r.tuning }),
  };
  // One nature run for every stream: the length the last analysis needs.
  const sourceYears = cycleSourceYears({
    ...cycleOptionsOf({ ...common, cycles: 1 }),
    start: lastState - per,
  });
  return Array.from({ length: K }, (_, k) => {
    const keepFrom = r.from + cut(k) * per;
    let start = keepFrom - (r.spinUp + 1) * per;
    while (start < 0) start += per;
    const end = r.from + (cut(k + 1) - 1) * per;
    return parseCycleRequest({
      ...common,
      name: `${name}-stream-${k}`,
      start,
      cycles: (end - start) / per,
      sourceYears,
      reanalysis: { id, stream: k, keepFrom, storeStart: r.from, storeLength: r.steps },
    });
  });
}
