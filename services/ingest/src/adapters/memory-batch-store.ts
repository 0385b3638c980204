/**
 * A {@link BatchStore} in process memory, for tests and a service run without a registry: batches live as long as
 * the process (a restarted service has forgotten them; Check answers NOT_FOUND). The service's main.ts uses the
 * registry's store (db-batch-store.ts).
 */
import { randomUUID } from 'node:crypto';

import type { ObsBatch } from '@alignda/world';

import type { BatchStore, StoredBatch } from '../ports.js';

/** Batches kept before the oldest is dropped. @defaultValue 10 000 (a few hundred MB of large batches at most) */
export const DEFAULT_MEMORY_BATCHES = 10_000;

/** A batch store in memory, dropping the oldest batch past `capacity`. */
export function memoryBatchStore(capacity = DEFAULT_MEMORY_BATCHES): BatchStore {
  const byId = new Map<string, StoredBatch>();
  const byKey = new Map<string, string>();
  const keyById = new Map<string, string>();
  const keyOf = (datasetId: string, key: string): string => `${datasetId}\u0000${key}`;
  const findByKey = (datasetId: string, key: string): StoredBatch | undefined => {
    const id = byKey.get(keyOf(datasetId, key));
    return id === undefined ? undefined : byId.get(id);
  };
  return {
    put: (datasetId: string, batch: ObsBatch, idempotencyKey?: string) => {
      const earlier = idempotencyKey === undefined ? undefined : findByKey(datasetId, idempotencyKey);
      if (earlier !== undefined) return Promise.resolve({ stored: earlier, created: false });
      const stored: StoredBatch = { id: randomUUID(), datasetId, batch };
      byId.set(stored.id, stored);
      if (idempotencyKey !== undefined) {
        byKey.set(keyOf(datasetId, idempotencyKey), stored.id);
        keyById.set(stored.id, keyOf(datasetId, idempotencyKey));
      }
      for (const id of byId.keys()) {
        if (byId.size <= capacity) break;
        byId.delete(id);
        const key = keyById.get(id);
        if (key !== undefined) byKey.delete(key);
        keyById.delete(id);
      }
      return Promise.resolve({ stored, created: true });
    },
    findByKey: (datasetId, key) => Promise.resolve(findByKey(datasetId, key)),
    get: (id) => Promise.resolve(byId.get(id)),
  };
}
