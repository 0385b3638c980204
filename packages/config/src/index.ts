export { CONFIG_VARIABLES, EXECUTION_PROVIDERS, formatStartupError, loadConfig } from './config.js';
export type {
  Config,
  ConfigVariable,
  DatabaseProvider,
  ExecutionProvider,
  LoadConfigOptions,
} from './config.js';
