/**
 * Single byte-range requests (RFC 9110, section 14): `Range: bytes=first-last`, `bytes=first-` and `bytes=-suffix`.
 * A header the server does not take (another unit, several ranges, bad syntax) is ignored, as section 14.2 allows: the
 * whole representation is sent. A range that starts past the end is unsatisfiable (416).
 */

/** What a Range header asks of a representation of `size` bytes. */
export type RangeRequest =
  | { readonly kind: 'whole' }
  | { readonly kind: 'range'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' };

const RANGE = /^bytes=(\d*)-(\d*)$/;

/**
 * The byte range `header` asks for in a representation of `size` bytes: `end` inclusive and clipped to the last
 * byte; `whole` for no header or one that is ignored.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'whole' };
  const match = RANGE.exec(header.trim().replace(/\s+/g, ''));
  if (match === null) return { kind: 'whole' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'whole' };
  if (first === '') {
    // A suffix: the last `last` bytes.
    const n = Number(last);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return { kind: 'whole' }; // invalid (section 14.1.1): ignored
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) };
}

/** The Content-Range of a 206 answer (`bytes 0-99/1234`) or a 416 (`bytes *\/1234`). */
export function contentRange(range: RangeRequest, size: number): string {
  return range.kind === 'range' ? `bytes ${range.start}-${range.end}/${size}` : `bytes */${size}`;
}
