/**
 * The ingest service: IngestService (Submit / Check) for one dataset, with a batch store. `buildApp` never listens;
 * `main.ts` (or a test) calls `listen`.
 */
import type { Logger } from '@alignda/log';
import { IngestServiceService, bindService, startGrpcService } from '@alignda/rpc';
import type { GrpcService, ServiceBinding, StartGrpcServiceOptions } from '@alignda/rpc';

import { memoryBatchStore } from './adapters/memory-batch-store.js';
import type { BatchStore } from './ports.js';
import { ingestHandlers } from './handlers.js';
import type { IngestDataset } from './handlers.js';

/** The ingest service's default port. */
export const INGEST_PORT = 50055;

/** What the service is built from. */
export interface IngestDeps {
  /** The dataset observations are submitted for (an opened source satisfies it). */
  readonly dataset: IngestDataset;
  /** Where batches are kept. @defaultValue memoryBatchStore() */
  readonly store?: BatchStore;
  readonly log: Logger;
}

/** A built service, not yet listening. */
export interface IngestApp {
  readonly services: readonly ServiceBinding[];
  /** Binds the server and reports SERVING. */
  listen(options?: StartGrpcServiceOptions): Promise<GrpcService>;
}

/** Builds the ingest service. */
export function buildApp(deps: IngestDeps): IngestApp {
  const store = deps.store ?? memoryBatchStore();
  const services = [
    bindService(IngestServiceService, ingestHandlers({ dataset: deps.dataset, store }, deps.log)),
  ];
  return {
    services,
    listen: async (options) => {
      const service = await startGrpcService(services, options);
      service.setServing();
      return service;
    },
  };
}
