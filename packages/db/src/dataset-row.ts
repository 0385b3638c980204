/**
 * The registry's Dataset row of a source, created on first use: every row that belongs to a dataset (an Analysis, an
 * ObservationBatch, a Cycle) points at it by id. Safe under concurrent first uses (the name is unique).
 */
import type { Db } from './open-database.js';

/** What identifies and describes a dataset row. */
export interface DatasetRowSpec {
  /** The source's name (`qg`, `ncep-air`, a dataset of one's own). */
  readonly name: string;
  /** `qg` for the world, `dataset` otherwise. */
  readonly kind: string;
  /** The descriptor recorded with a new row (JSON). */
  readonly descriptor: object;
}

/** Whether `err` is Prisma's unique-constraint violation (P2002). */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'P2002';
}

/** The id of the Dataset row named `spec.name`, created from `spec` when there is none. */
export async function ensureDatasetRow(db: Db, spec: DatasetRowSpec): Promise<string> {
  const found = await db.dataset.findUnique({ where: { name: spec.name } });
  if (found !== null) return found.id;
  try {
    const row = await db.dataset.create({
      data: {
        name: spec.name,
        kind: spec.kind,
        descriptor: JSON.parse(JSON.stringify(spec.descriptor)) as object,
      },
    });
    return row.id;
  } catch (err) {
    // Another process created it between the two calls.
    if (!isUniqueViolation(err)) throw err;
    return (await db.dataset.findUniqueOrThrow({ where: { name: spec.name } })).id;
  }
}
