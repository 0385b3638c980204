export { LOG_LEVELS, createLogger, jobLogger, rpcLogger, serializeError } from './logger.js';
export type { CreateLoggerOptions, LogLevel, Logger, SerializedError } from './logger.js';
export { REDACTED, redactSecrets, redactUrl } from './redact.js';
