import { describe, expect, it } from 'vitest';
import { QUEUE_NAMES, QueueName } from './queue-names.js';

describe('queue names', () => {
  it('are the five kinds of work, distinct and usable as Redis key parts', () => {
    expect([...QUEUE_NAMES].sort()).toEqual(['align', 'assimilate', 'cycle', 'sample', 'train']);
    expect(QueueName.assimilate).toBe('assimilate');
    for (const name of QUEUE_NAMES) expect(name).toMatch(/^[a-z][a-z-]*$/); // BullMQ forbids ':' in names
  });
});
