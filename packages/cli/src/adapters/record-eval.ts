/**
 * Records an evaluation in the registry: the three models of the folder as model versions (one per kind, named
 * after the folder, created on first sight) and an Evaluation of the score model with the summary and options.
 */
import path from 'node:path';

import type { Config } from '@alignda/config';
import { openDatabase } from '@alignda/db';
import type { LatentModels } from '@alignda/nn';
import { MODEL_FILES } from '@alignda/nn';

/** What {@link recordEvaluation} stores. */
export interface EvaluationRecord {
  /** Model folder. */
  readonly dir: string;
  readonly models: LatentModels;
  /** First and last valid time of the cases (ISO, hour precision). */
  readonly first: string;
  readonly last: string;
  /** Summary, options and station scores (plain JSON). */
  readonly metrics: unknown;
}

const KINDS = { vae: 'autoencoder', emulator: 'forecast', score: 'score' } as const;

const isoDate = (hourIso: string): Date => new Date(`${hourIso.length === 13 ? `${hourIso}:00` : hourIso}Z`);

/** Writes the records; returns the evaluation id. */
export async function recordEvaluation(config: Config, r: EvaluationRecord): Promise<string> {
  const db = await openDatabase(config);
  try {
    const name = path.basename(r.dir);
    const ids: Partial<Record<keyof typeof KINDS, string>> = {};
    for (const m of ['vae', 'emulator', 'score'] as const) {
      const rel = path.relative(config.homeDir, path.join(r.dir, MODEL_FILES[m]));
      const mv = await db.modelVersion.upsert({
        where: { kind_name: { kind: KINDS[m], name } },
        create: {
          kind: KINDS[m],
          name,
          artifactPaths: { checkpoint: rel },
          metrics: {
            steps: r.models[m].steps,
            config: JSON.parse(JSON.stringify(r.models[m].config)) as object,
          },
        },
        update: {
          artifactPaths: { checkpoint: rel },
          metrics: {
            steps: r.models[m].steps,
            config: JSON.parse(JSON.stringify(r.models[m].config)) as object,
          },
        },
      });
      ids[m] = mv.id;
    }
    const ev = await db.evaluation.create({
      data: {
        modelVersionId: ids.score as string,
        periodStart: isoDate(r.first),
        periodEnd: isoDate(r.last),
        metrics: JSON.parse(
          JSON.stringify(r.metrics, (_k, v: unknown) =>
            typeof v === 'number' && !Number.isFinite(v) ? null : v,
          ),
        ) as object,
      },
    });
    return ev.id;
  } finally {
    await db.$disconnect();
  }
}
