/** The ingest service's port: where submitted batches are kept (the QC itself is packages/world's). */
import type { ObsBatch } from '@alignda/world';

/** A batch as stored by Submit. */
export interface StoredBatch {
  /** Its id, for CheckRequest.batch_id. */
  readonly id: string;
  /** The dataset it was submitted for. */
  readonly datasetId: string;
  /** The batch after background-free QC, channels resolved to the dataset's. */
  readonly batch: ObsBatch;
}

/** Where Submit keeps batches and Check finds them. */
export interface BatchStore {
  /**
   * Stores a batch, or returns the one stored earlier with the same idempotency key for the same dataset.
   * @returns the stored batch and whether this call created it
   */
  put(
    datasetId: string,
    batch: ObsBatch,
    idempotencyKey?: string,
  ): Promise<{ stored: StoredBatch; created: boolean }>;
  /** The batch stored for (dataset, key), if any. */
  findByKey(datasetId: string, idempotencyKey: string): Promise<StoredBatch | undefined>;
  /** The batch with this id, if any. */
  get(id: string): Promise<StoredBatch | undefined>;
  /** Records the outcome of a Check of batch `id` (O-B statistics, QC counts), where the store keeps records. */
  recordCheck?(id: string, check: object): Promise<void>;
}
