/**
 * What `GET /v1/cycles/:id` answers: the Cycle row (state, settings, progress, error) with its recorded steps as a
 * series, per step and method the numbers a DA scientist reads (RMSE against the truth, O-B, O-A, spread, the
 * innovation diagnostics, divergence, lead time).
 */
import { z } from 'zod';
import type { Cycle, Db } from '@alignda/db';

/** A cycle's life as clients see it (the row's RunStatus). */
export const CYCLE_STATES = ['pending', 'running', 'paused', 'succeeded', 'failed', 'cancelled'] as const;

/** The path of a cycle's resource. */
export function cycleUrl(id: string): string {
  return `/v1/cycles/${id}`;
}

const methodStep = z
  .object({
    analysisRmse: z.number().nullable(),
    backgroundRmse: z.number().nullable(),
    analysisSpread: z.number().nullable().optional(),
    ombRms: z.number().nullable(),
    omaRms: z.number().nullable(),
    observations: z.number().int(),
    diverged: z.boolean(),
    seconds: z.number(),
    innovation: z
      .object({
        obsErrorStd: z.number().nullable(),
        backgroundErrorStd: z.number().nullable(),
        assumedObsErrorStd: z.number().nullable(),
        chi2: z.number().nullable().optional(),
      })
      .optional()
      .describe(
        "Desroziers' observation- and background-error std, R's, and the ensemble's innovation chi-square",
      ),
  })
  .meta({ id: 'CycleMethodStep' });

const stepView = z
  .object({
    step: z.number().int(),
    time: z.string().describe('valid time of the analysis (the nature run clock)'),
    methods: z.record(z.string(), methodStep),
    leadHours: z
      .record(z.string(), z.number().nullable())
      .optional()
      .describe('hours until the forecast from each analysis loses skill, on the steps that forecast'),
  })
  .meta({ id: 'CycleStep' });

/** The cycle resource. */
export const cycleViewSchema = z
  .object({
    id: z.uuid(),
    url: z.string(),
    name: z.string(),
    state: z.enum(CYCLE_STATES),
    settings: z.record(z.string(), z.unknown()).describe('the request, defaults filled in'),
    steps: z.number().int().describe('steps the cycle runs'),
    stepsDone: z.number().int(),
    nextValidTime: z.string(),
    dueAt: z.string().nullable().describe('when the next step runs (wall-clock cycles)'),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    series: z.array(stepView).optional().describe('every recorded step, in order (omitted in lists)'),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Cycle' });
/** The cycle resource's value. */
export type CycleView = z.infer<typeof cycleViewSchema>;

interface StoredMethodStep {
  analysisRmse: number | null;
  backgroundRmse: number | null;
  analysisSpread?: number | null;
  omb: { rms: number | null };
  oma: { rms: number | null };
  observations: number;
  diverged: boolean;
  seconds: number;
  innovation?: {
    obsErrorStd: number | null;
    backgroundErrorStd: number | null;
    assumedObsErrorStd: number | null;
    chi2?: number | null;
  };
}
interface StoredStep {
  time: string;
  methods: Record<string, StoredMethodStep>;
  skill?: { methods: Record<string, { hours: number | null }> };
}

function stepOf(step: number, s: StoredStep): z.infer<typeof stepView> {
  return {
    step,
    time: s.time,
    methods: Object.fromEntries(
      Object.entries(s.methods).map(([m, r]) => [
        m,
        {
          analysisRmse: r.analysisRmse,
          backgroundRmse: r.backgroundRmse,
          ...(r.analysisSpread === undefined ? {} : { analysisSpread: r.analysisSpread }),
          ombRms: r.omb.rms,
          omaRms: r.oma.rms,
          observations: r.observations,
          diverged: r.diverged,
          seconds: r.seconds,
          ...(r.innovation === undefined
            ? {}
            : {
                innovation: {
                  obsErrorStd: r.innovation.obsErrorStd,
                  backgroundErrorStd: r.innovation.backgroundErrorStd,
                  assumedObsErrorStd: r.innovation.assumedObsErrorStd,
                  ...(r.innovation.chi2 === undefined ? {} : { chi2: r.innovation.chi2 }),
                },
              }),
        },
      ]),
    ),
    ...(s.skill === undefined
      ? {}
      : { leadHours: Object.fromEntries(Object.entries(s.skill.methods).map(([m, l]) => [m, l.hours])) }),
  };
}

/** The view of a row, with its series when `db` is given. */
export async function cycleView(row: Cycle, db?: Db): Promise<CycleView> {
  const stats = (row.stats ?? {}) as {
    stepsDone?: number;
    dueAt?: string;
    error?: { code: string; message: string };
  };
  const settings = row.settings as Record<string, unknown>;
  const steps = await db?.cycleStep.findMany({
    where: { cycleId: row.id, status: 'succeeded' },
    orderBy: { stepIndex: 'asc' },
    select: { stepIndex: true, stats: true },
  });
  return {
    id: row.id,
    url: cycleUrl(row.id),
    name: row.name,
    state: row.status,
    settings,
    steps: typeof settings.cycles === 'number' ? settings.cycles : 0,
    stepsDone: stats.stepsDone ?? 0,
    nextValidTime: row.nextValidTime.toISOString(),
    dueAt: row.status === 'running' ? (stats.dueAt ?? null) : null,
    error: stats.error ?? null,
    ...(steps === undefined
      ? {}
      : { series: steps.map((s) => stepOf(s.stepIndex, s.stats as unknown as StoredStep)) }),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
