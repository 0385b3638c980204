import { Redis } from 'ioredis';
import { AppError } from '@alignda/errors';
import { redactUrl } from '@alignda/log';

/**
 * Resolves once the Redis at `url` answers PING; otherwise rejects within about `timeoutMs` with
 * `AppError('UNAVAILABLE')` whose single-line message names REDIS_URL (password redacted) and the reason.
 * Opens one connection, never retries, and always closes it.
 *
 * @param url - the REDIS_URL value (`redis://` or `rediss://`)
 * @param timeoutMs - the whole budget for connect + PING, in milliseconds
 */
export async function probeRedis(url: string, timeoutMs: number): Promise<void> {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new AppError(
      'INVALID_ARGUMENT',
      `probeRedis: timeoutMs must be a positive number, got ${timeoutMs}`,
    );
  }
  let client: Redis;
  try {
    client = new Redis(url, {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null, // one attempt: start-up should fail fast and say why
    });
  } catch (err) {
    throw unavailable(url, timeoutMs, err);
  }
  let lastError: unknown;
  client.on('error', (err: unknown) => {
    lastError = err; // kept for the message; without a listener ioredis prints it
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new AppError('DEADLINE_EXCEEDED', `no answer to PING within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([
      (async () => {
        await client.connect();
        const reply = await client.ping();
        if (reply !== 'PONG')
          throw new AppError('UNAVAILABLE', `PING answered ${JSON.stringify(reply)} instead of PONG`);
      })(),
      deadline,
    ]);
  } catch (err) {
    throw unavailable(url, timeoutMs, lastError ?? err);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

function unavailable(url: string, timeoutMs: number, cause: unknown): AppError {
  const reason = cause instanceof Error ? cause.message || cause.name : String(cause);
  return new AppError(
    'UNAVAILABLE',
    `REDIS_URL ${redactUrl(url)} is unreachable: ${reason.replace(/\s+/g, ' ')}`,
    { details: { variable: 'REDIS_URL', url: redactUrl(url), timeoutMs }, cause },
  );
}
