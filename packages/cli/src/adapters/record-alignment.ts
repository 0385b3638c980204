/**
 * Records an alignment in the registry, in one transaction: the reference score network of the folder as a model
 * version (kind `score`, named after the folder, as `alignda eval` records it), the aligned score network as its
 * child (`<folder>-aligned-<set>`, updated in place when the same folder and set are aligned again), an
 * AlignmentRun from the one to the other, and the run's PreferenceSet.
 */
import path from 'node:path';

import type { Config } from '@alignda/config';
import { openDatabase } from '@alignda/db';
import type { TrainedModel } from '@alignda/nn';
import { MODEL_FILES } from '@alignda/nn';
import type { AlignResult } from '@alignda/pipelines';

/** What {@link recordAlignment} stores. */
export interface AlignmentRecord {
  /** Reference model folder. */
  readonly dir: string;
  /** The reference score network (its steps and configuration are recorded, as `alignda eval` does). */
  readonly score: Pick<TrainedModel<unknown>, 'steps' | 'config'>;
  /** What `alignModels` returned. */
  readonly result: AlignResult;
  /** Valid times of the first and the last state of the alignment period (ISO, hour precision). */
  readonly periodFirst: string;
  readonly periodLast: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
}

/** The ids {@link recordAlignment} wrote; `aligned` is undefined when the DPO run was interrupted. */
export interface AlignmentRecordIds {
  readonly reference: string;
  readonly aligned: string | undefined;
  readonly run: string;
  readonly preferenceSet: string;
}

const isoDate = (hourIso: string): Date => new Date(`${hourIso.length === 13 ? `${hourIso}:00` : hourIso}Z`);

/** A plain JSON copy of `v` (non-finite numbers as null), as Prisma's Json columns take it. */
const json = (v: unknown): object =>
  JSON.parse(
    JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? null : x)),
  ) as object;

/** The aligned model version's name for the reference folder `dir` and preference set `set`. */
export const alignedModelName = (dir: string, set: string): string => `${path.basename(dir)}-aligned-${set}`;

/**
 * Writes the records in one transaction; returns their ids. An interrupted DPO run (`result.completed` false) is
 * recorded as a paused run with its preference set and no aligned model version.
 */
export async function recordAlignment(config: Config, r: AlignmentRecord): Promise<AlignmentRecordIds> {
  const rel = (file: string): string => path.relative(config.homeDir, path.resolve(file));
  const { meta, hash, file, reused } = r.result.preferences;
  const db = await openDatabase(config);
  try {
    return await db.$transaction(async (tx) => {
      const name = path.basename(r.dir);
      // The backgrounds the prior learned from: POST /v1/alignments refuses another kind unless forced.
      const refFields = {
        background: meta.background,
        artifactPaths: { checkpoint: rel(path.join(r.dir, MODEL_FILES.score)) },
        metrics: json({ steps: r.score.steps, config: r.score.config }),
      };
      const reference = await tx.modelVersion.upsert({
        where: { kind_name: { kind: 'score', name } },
        create: { kind: 'score', name, ...refFields },
        update: refFields,
      });
      let aligned: string | undefined;
      if (r.result.completed) {
        const alignedName = alignedModelName(r.dir, meta.set);
        const fields = {
          parentId: reference.id,
          background: meta.background,
          artifactPaths: { checkpoint: rel(r.result.checkpoint) },
          metrics: json({
            dpo: r.result.dpo,
            preferenceSet: { set: meta.set, contentHash: hash },
            heldOut: r.result.heldOut ?? null,
          }),
        };
        const mv = await tx.modelVersion.upsert({
          where: { kind_name: { kind: 'score', name: alignedName } },
          create: { kind: 'score', name: alignedName, ...fields },
          update: fields,
        });
        aligned = mv.id;
      }
      const run = await tx.alignmentRun.create({
        data: {
          baseModelVersionId: reference.id,
          resultModelVersionId: aligned ?? null,
          status: r.result.completed ? 'succeeded' : 'paused',
          settings: json({
            set: meta.set,
            dpo: r.result.dpo,
            resumedFrom: r.result.resumedFrom,
            source: meta.source,
            background: meta.background,
            candidates: meta.candidates,
            samplerSteps: meta.steps,
            seed: meta.seed,
          }),
          startedAt: r.startedAt,
          finishedAt: r.finishedAt,
        },
      });
      const prefs = await tx.preferenceSet.create({
        data: {
          alignmentRunId: run.id,
          objective: meta.set,
          pairCount: meta.trainPairs,
          artifactPath: rel(file),
          summary: json({
            format: meta.format,
            source: meta.source,
            background: meta.background,
            samplerSteps: meta.steps,
            seed: meta.seed,
            periodRange: meta.periodRange,
            trainConditions: meta.trainConditions,
            heldOutConditions: meta.heldOutConditions,
            fallbacks: meta.fallbacks,
            rewardMeans: meta.rewardMeans,
            reused,
          }),
          periodStart: isoDate(r.periodFirst),
          periodEnd: isoDate(r.periodLast),
          rewards: [...meta.rewards],
          candidates: meta.candidates,
          conditions: meta.trainConditions.length + meta.heldOutConditions.length,
          contentHash: hash,
          rewardScales: json(meta.scales),
          heldOutPairCount: meta.heldOutPairs,
        },
      });
      return { reference: reference.id, aligned, run: run.id, preferenceSet: prefs.id };
    });
  } finally {
    await db.$disconnect();
  }
}
