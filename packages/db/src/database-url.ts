import path from 'node:path';
import { AppError } from '@alignda/errors';
import { redactUrl } from '@alignda/log';
import type { Provider } from './internal/schema-render.js';

/** A DATABASE_URL taken apart: the provider, and for SQLite the file path. */
export type ParsedDatabaseUrl =
  { provider: 'sqlite'; file: string } | { provider: 'postgresql'; url: string };

/**
 * Splits a DATABASE_URL by scheme: `file:<path>` (SQLite; a relative path is resolved from the
 * working directory, query parameters are ignored) or `postgres:`/`postgresql:` (PostgreSQL).
 * Any other scheme is `AppError('CONFIG_INVALID')` naming DATABASE_URL.
 */
export function parseDatabaseUrl(url: string): ParsedDatabaseUrl {
  if (url.startsWith('file:')) {
    const rest =
      url
        .slice('file:'.length)
        .replace(/^\/\/(?=\/)/, '')
        .split('?')[0] ?? '';
    if (rest === '') throw invalid(url, 'a file path after file:');
    return { provider: 'sqlite', file: rest === ':memory:' ? rest : path.resolve(rest) };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://'))
    return { provider: 'postgresql', url };
  throw invalid(url, 'a URL with scheme file: (SQLite), postgres: or postgresql: (PostgreSQL)');
}

/** The provider a DATABASE_URL selects. */
export function providerOf(url: string): Provider {
  return parseDatabaseUrl(url).provider;
}

function invalid(url: string, expected: string): AppError {
  return new AppError(
    'CONFIG_INVALID',
    `DATABASE_URL=${JSON.stringify(redactUrl(url))}: expected ${expected}`,
    {
      details: { variable: 'DATABASE_URL' },
    },
  );
}

/** `AppError('UNAVAILABLE')` for a database that cannot be reached, naming DATABASE_URL (redacted) and why. */
export function databaseUnavailable(url: string, cause: unknown): AppError {
  const reason = cause instanceof Error ? cause.message || cause.name : String(cause);
  return new AppError(
    'UNAVAILABLE',
    `DATABASE_URL ${redactUrl(url)} is unreachable: ${reason.replace(/\s+/g, ' ')}`,
    {
      details: { variable: 'DATABASE_URL', url: redactUrl(url) },
      cause,
    },
  );
}
