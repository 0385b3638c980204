import { AppError } from '@alignda/errors';
import type { AppErrorCode } from '@alignda/errors';

/**
 * `promise`, or a rejection with `AppError(code)` naming `what` after `ms` milliseconds (the promise
 * itself keeps running; its outcome is then ignored).
 * @param code - @defaultValue `'DEADLINE_EXCEEDED'`; `'UNAVAILABLE'` where a silent dependency is down
 */
export async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  code: AppErrorCode = 'DEADLINE_EXCEEDED',
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AppError(code, `${what}: no answer within ${ms} ms`)), ms);
  });
  promise.catch(() => undefined); // a late rejection after the deadline is not unhandled
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
