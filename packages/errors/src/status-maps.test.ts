import { describe, expect, it } from 'vitest';
import { APP_ERROR_CODES, AppError } from './app-error.js';
import {
  EXIT_STATUS_BY_CODE,
  ExitStatus,
  GRPC_STATUS_BY_CODE,
  GrpcStatus,
  HTTP_STATUS_BY_CODE,
  appErrorCodeFromGrpcStatus,
  exitStatusOf,
} from './status-maps.js';

describe('status maps', () => {
  it('map every code and nothing else', () => {
    const codes = [...APP_ERROR_CODES].sort();
    expect(Object.keys(GRPC_STATUS_BY_CODE).sort()).toEqual(codes);
    expect(Object.keys(HTTP_STATUS_BY_CODE).sort()).toEqual(codes);
    expect(Object.keys(EXIT_STATUS_BY_CODE).sort()).toEqual(codes);
  });

  it('give every code exactly one exit status, one HTTP status and one gRPC status', () => {
    const grpcNumbers = new Set<number>(Object.values(GrpcStatus));
    for (const code of APP_ERROR_CODES) {
      for (const status of [
        EXIT_STATUS_BY_CODE[code],
        HTTP_STATUS_BY_CODE[code],
        GRPC_STATUS_BY_CODE[code],
      ]) {
        expect(Number.isInteger(status), code).toBe(true);
      }
      expect(grpcNumbers.has(GRPC_STATUS_BY_CODE[code]), code).toBe(true);
    }
  });

  it('exit with a sysexits status (64..78) or 130, never 0 or a shell-reserved status', () => {
    for (const code of APP_ERROR_CODES) {
      const status = EXIT_STATUS_BY_CODE[code];
      expect((status >= 64 && status <= 78) || status === 130, `${code} -> ${status}`).toBe(true);
    }
    // Values from FreeBSD's sysexits(3).
    expect(ExitStatus).toEqual({
      USAGE: 64,
      DATAERR: 65,
      NOINPUT: 66,
      UNAVAILABLE: 69,
      SOFTWARE: 70,
      CANTCREAT: 73,
      TEMPFAIL: 75,
      NOPERM: 77,
      CONFIG: 78,
      INTERRUPTED: 130,
    });
  });

  it('exit as the issue asks: 64 usage, 65 data, 69 unavailable, 70 internal, 78 config, 130 interrupted', () => {
    expect(EXIT_STATUS_BY_CODE).toMatchObject({
      INVALID_ARGUMENT: 64,
      FAILED_PRECONDITION: 65,
      NOT_FOUND: 66,
      UNAVAILABLE: 69,
      INTERNAL: 70,
      CONFIG_INVALID: 78,
      CANCELLED: 130,
    });
  });

  it('give anything thrown an exit status through its AppError code', () => {
    expect(exitStatusOf(new AppError('CONFIG_INVALID', 'REDIS_URL is not a URL'))).toBe(78);
    expect(exitStatusOf(new DOMException('stop', 'AbortError'))).toBe(130);
    expect(exitStatusOf(new DOMException('late', 'TimeoutError'))).toBe(75);
    expect(exitStatusOf(new TypeError('x is undefined'))).toBe(70);
    expect(exitStatusOf('oops')).toBe(70);
  });

  it('use the gRPC spec numbers (doc/statuscodes.md in grpc/grpc)', () => {
    // Numbers copied from the table in https://github.com/grpc/grpc/blob/master/doc/statuscodes.md.
    expect(GrpcStatus).toMatchObject({ OK: 0, CANCELLED: 1, INVALID_ARGUMENT: 3, NOT_FOUND: 5, ABORTED: 10 });
    expect(GrpcStatus.UNAVAILABLE).toBe(14);
    expect(GrpcStatus.UNAUTHENTICATED).toBe(16);
    expect(GRPC_STATUS_BY_CODE.INVALID_ARGUMENT).toBe(3);
    expect(GRPC_STATUS_BY_CODE.DEADLINE_EXCEEDED).toBe(4);
    expect(GRPC_STATUS_BY_CODE.NOT_FOUND).toBe(5);
    expect(GRPC_STATUS_BY_CODE.PERMISSION_DENIED).toBe(7);
    expect(GRPC_STATUS_BY_CODE.FAILED_PRECONDITION).toBe(9);
    expect(GRPC_STATUS_BY_CODE.CONFLICT).toBe(10);
    expect(GRPC_STATUS_BY_CODE.UNIMPLEMENTED).toBe(12);
    expect(GRPC_STATUS_BY_CODE.INTERNAL).toBe(13);
    expect(GRPC_STATUS_BY_CODE.UNAVAILABLE).toBe(14);
  });

  it('never map an error to gRPC OK or to a non-error HTTP status', () => {
    for (const code of APP_ERROR_CODES) {
      expect(GRPC_STATUS_BY_CODE[code], code).not.toBe(GrpcStatus.OK);
      expect(HTTP_STATUS_BY_CODE[code], code).toBeGreaterThanOrEqual(400);
      expect(HTTP_STATUS_BY_CODE[code], code).toBeLessThan(600);
    }
  });

  it('send client mistakes as 4xx and server failures as 5xx', () => {
    expect(HTTP_STATUS_BY_CODE.INVALID_ARGUMENT).toBe(400);
    expect(HTTP_STATUS_BY_CODE.UNAUTHENTICATED).toBe(401);
    expect(HTTP_STATUS_BY_CODE.PAYLOAD_TOO_LARGE).toBe(413);
    expect(HTTP_STATUS_BY_CODE.RESOURCE_EXHAUSTED).toBe(429);
    expect(HTTP_STATUS_BY_CODE.INTERNAL).toBe(500);
    expect(HTTP_STATUS_BY_CODE.UNAVAILABLE).toBe(503);
  });

  it('round-trip every code whose gRPC status is unique back to the same code', () => {
    const counts = new Map<number, number>();
    for (const code of APP_ERROR_CODES) {
      const s = GRPC_STATUS_BY_CODE[code];
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    for (const code of APP_ERROR_CODES) {
      if (counts.get(GRPC_STATUS_BY_CODE[code]) === 1) {
        expect(appErrorCodeFromGrpcStatus(GRPC_STATUS_BY_CODE[code]), code).toBe(code);
      }
    }
    expect(appErrorCodeFromGrpcStatus(GrpcStatus.UNKNOWN)).toBe('INTERNAL');
    expect(appErrorCodeFromGrpcStatus(99)).toBe('INTERNAL');
  });
});
