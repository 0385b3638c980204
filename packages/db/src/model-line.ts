/**
 * Model lines: a version belongs to the line of its trained reference (the root of its parent chain); at most one
 * version of a line is active (the gateway's promote and demote keep it so). The cycle service asks, at every step,
 * which version of its line is active, so that a promotion reaches running cycles at their next step.
 */
import type { ModelVersion } from './generated/sqlite/client.js';
import type { Db } from './open-database.js';

/** The root of a version's parent chain (its trained reference); a cycle in the chain stops the walk. */
export async function lineRoot(db: Pick<Db, 'modelVersion'>, m: ModelVersion): Promise<string> {
  let cur = m;
  const seen = new Set([cur.id]);
  while (cur.parentId !== null && !seen.has(cur.parentId)) {
    const parent = await db.modelVersion.findUnique({ where: { id: cur.parentId } });
    if (parent === null) break;
    seen.add(parent.id);
    cur = parent;
  }
  return cur.id;
}

/** The active versions of `m`'s line other than `m`. */
export async function activeInLine(db: Pick<Db, 'modelVersion'>, m: ModelVersion): Promise<ModelVersion[]> {
  const root = await lineRoot(db, m);
  const active = await db.modelVersion.findMany({
    where: { kind: m.kind, status: 'active', id: { not: m.id } },
  });
  const out: ModelVersion[] = [];
  for (const a of active) if ((await lineRoot(db, a)) === root) out.push(a);
  return out;
}

/**
 * The version of `id`'s line to use now: its active version (the newest promoted when, against the rule, there are
 * several), else `id` itself; undefined when there is no version `id`.
 */
export async function currentOfLine(
  db: Pick<Db, 'modelVersion'>,
  id: string,
): Promise<ModelVersion | undefined> {
  const m = await db.modelVersion.findUnique({ where: { id } });
  if (m === null) return undefined;
  const active = m.status === 'active' ? [m, ...(await activeInLine(db, m))] : await activeInLine(db, m);
  active.sort((a, b) => (b.promotedAt?.getTime() ?? 0) - (a.promotedAt?.getTime() ?? 0));
  return active[0] ?? m;
}
