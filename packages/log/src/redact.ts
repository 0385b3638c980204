/** What replaces a secret in logs and error messages. */
export const REDACTED = '***';

// scheme://user:password@host — the password is everything between the first ':' after the
// authority start and the last '@' before the host (RFC 3986 section 3.2.1 userinfo).
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@]*:)([^\s/?#]*)@/gi;
// Query parameters that carry secrets in connection strings (libpq `password=`, `sslpassword=`).
const QUERY_SECRET = /([?&](?:password|sslpassword|token|api[_-]?key)=)[^&#\s]*/gi;

/**
 * Replaces passwords inside every URL in `text` (e.g. `postgres://u:pw@h/db` -> `postgres://u:***@h/db`,
 * `redis://:pw@h` -> `redis://:***@h`) and secret query parameters. Text without secrets is returned unchanged.
 */
export function redactSecrets(text: string): string {
  return text.replace(URL_PASSWORD, `$1${REDACTED}@`).replace(QUERY_SECRET, `$1${REDACTED}`);
}

/**
 * A connection URL safe to print: its password (if any) replaced by `***`.
 * Same as {@link redactSecrets} for one URL; named for call sites that print DATABASE_URL / REDIS_URL.
 */
export function redactUrl(url: string): string {
  return redactSecrets(url);
}
