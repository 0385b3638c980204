export { APP_ERROR_CODES, AppError, isAppError, toAppError } from './app-error.js';
export type { AppErrorCode, AppErrorDetails, AppErrorOptions } from './app-error.js';
export {
  EXIT_STATUS_BY_CODE,
  ExitStatus,
  GrpcStatus,
  GRPC_STATUS_BY_CODE,
  HTTP_STATUS_BY_CODE,
  appErrorCodeFromGrpcStatus,
  exitStatusOf,
} from './status-maps.js';
export type { ExitStatusCode, GrpcStatusCode } from './status-maps.js';
