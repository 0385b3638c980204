export { APP_ERROR_CODES, AppError, isAppError, toAppError } from './app-error.js';
export type { AppErrorCode, AppErrorDetails, AppErrorOptions } from './app-error.js';
export {
  GrpcStatus,
  GRPC_STATUS_BY_CODE,
  HTTP_STATUS_BY_CODE,
  appErrorCodeFromGrpcStatus,
} from './status-maps.js';
export type { GrpcStatusCode } from './status-maps.js';
