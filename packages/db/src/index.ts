export { openDatabase } from './open-database.js';
export { ensureDatasetRow, isUniqueViolation } from './dataset-row.js';
export type { DatasetRowSpec } from './dataset-row.js';
export type { Db } from './open-database.js';
export { MIGRATIONS_TABLE, listMigrations, migrate } from './migrate.js';
export type { MigrateOptions, MigrateResult, Migration } from './migrate.js';
export { parseDatabaseUrl, providerOf } from './database-url.js';
export type { ParsedDatabaseUrl } from './database-url.js';
export { PROVIDERS } from './internal/schema-render.js';
export type { Provider } from './internal/schema-render.js';
export {
  API_KEY_SCOPES,
  API_KEY_TOKEN_BYTES,
  apiKeyHasScope,
  createApiKey,
  findApiKeyByToken,
  generateApiKeyToken,
  hashApiKeyToken,
  isApiKeyScope,
  listApiKeys,
  parseApiKeyScopes,
  revokeApiKey,
} from './api-keys.js';
export type { ApiKeyRecord, ApiKeyScope, CreateApiKeyOptions } from './api-keys.js';
export { JobStatus, ModelStatus, RunStatus } from './generated/sqlite/enums.js';
export type {
  AlignmentRun,
  Analysis,
  ApiKey,
  Cycle,
  CycleStep,
  Dataset,
  Evaluation,
  Job,
  ModelEvent,
  ModelVersion,
  ObservationBatch,
  PreferenceSet,
} from './generated/sqlite/client.js';
export { activeInLine, currentOfLine, lineRoot } from './model-line.js';
