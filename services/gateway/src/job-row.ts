/** The Job row of an assimilation job, as every `/v1/assimilations/:id...` route finds it. */
import { z } from 'zod';
import { AppError } from '@alignda/errors';
import type { Db, Job } from '@alignda/db';
import { QueueName } from '@alignda/queue';

/** The `:id` of every job route. */
export const idParams = z.object({ id: z.uuid().describe('the job id') });

/**
 * The assimilation job `id`.
 * @throws AppError `NOT_FOUND` when there is none (or the id names a job of another kind)
 */
export async function findJob(db: Db, id: string): Promise<Job> {
  const row = await db.job.findUnique({ where: { id } });
  if (row === null || row.kind !== QueueName.assimilate)
    throw new AppError('NOT_FOUND', `no assimilation job ${id}`, { details: { id } });
  return row;
}
