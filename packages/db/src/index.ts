export { openDatabase } from './open-database.js';
export type { Db } from './open-database.js';
export { MIGRATIONS_TABLE, listMigrations, migrate } from './migrate.js';
export type { MigrateOptions, MigrateResult, Migration } from './migrate.js';
export { parseDatabaseUrl, providerOf } from './database-url.js';
export type { ParsedDatabaseUrl } from './database-url.js';
export { PROVIDERS } from './internal/schema-render.js';
export type { Provider } from './internal/schema-render.js';
export { JobStatus, ModelStatus, RunStatus } from './generated/sqlite/enums.js';
export type {
  AlignmentRun,
  Analysis,
  Cycle,
  CycleStep,
  Dataset,
  Evaluation,
  Job,
  ModelVersion,
  ObservationBatch,
  PreferenceSet,
} from './generated/sqlite/client.js';
