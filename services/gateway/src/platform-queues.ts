/**
 * Every BullMQ queue of the platform, for the queue board and the queue metrics: the gateway's own `assimilate`
 * queue and, beside it, one Queue per other name of packages/queue's `QUEUE_NAMES` (sample, cycle, align, train, ...),
 * on the same connection and key prefix. A name added there shows up here with no change.
 */
import { Queue } from 'bullmq';
import { QUEUE_NAMES } from '@alignda/queue';
import type { QueueName } from '@alignda/queue';

/** The platform's queues, in `QUEUE_NAMES` order. */
export interface PlatformQueues {
  readonly all: readonly Queue[];
  /** The queue of that name. */
  byName(name: QueueName): Queue;
  /** Closes the queues made here (the given one is its owner's to close). */
  close(): Promise<void>;
}

/** The platform's queues next to `queue` (same connection, same prefix). */
export function platformQueues(queue: Queue): PlatformQueues {
  const { connection, prefix } = queue.opts;
  const made: Queue[] = [];
  const all = QUEUE_NAMES.map((name) => {
    if (name === queue.name) return queue;
    // An ioredis connection is shared (BullMQ does not close it with the queue); options make a connection each.
    const other = new Queue(name, { connection, ...(prefix === undefined ? {} : { prefix }) });
    made.push(other);
    return other;
  });
  if (!all.includes(queue)) all.unshift(queue);
  return {
    all,
    byName: (name) => {
      const q = all.find((x) => x.name === name);
      if (q === undefined) throw new Error(`no platform queue ${name}`);
      return q;
    },
    close: async () => {
      await Promise.all(made.map((q) => q.close()));
    },
  };
}
