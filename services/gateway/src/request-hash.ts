import { createHash } from 'node:crypto';

/**
 * `value` as JSON with the keys of every object sorted, so that two bodies that differ only in key
 * order or whitespace serialise alike. Arrays keep their order (it is meaningful).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/**
 * SHA-256 (hex) of a validated request's {@link canonicalJson}: what an Idempotency-Key is bound to.
 * Hashing the validated request (defaults filled in) means a retry that spells the same request
 * differently (key order, an explicit default) is still the same request.
 */
export function requestHash(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request), 'utf8').digest('hex');
}
