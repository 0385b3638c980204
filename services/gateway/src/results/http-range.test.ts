import { describe, expect, it } from 'vitest';

import { contentRange, parseRange } from './http-range.js';

describe('parseRange', () => {
  it('takes first-last, first- and a suffix, the end clipped to the last byte', () => {
    expect(parseRange('bytes=0-99', 1000)).toEqual({ kind: 'range', start: 0, end: 99 });
    expect(parseRange('bytes=900-', 1000)).toEqual({ kind: 'range', start: 900, end: 999 });
    expect(parseRange('bytes=-100', 1000)).toEqual({ kind: 'range', start: 900, end: 999 });
    expect(parseRange('bytes=-5000', 1000)).toEqual({ kind: 'range', start: 0, end: 999 });
    expect(parseRange('bytes=990-2000', 1000)).toEqual({ kind: 'range', start: 990, end: 999 });
    expect(parseRange(' bytes = 5 - 9 ', 1000)).toEqual({ kind: 'range', start: 5, end: 9 });
  });

  it('is unsatisfiable when the range starts past the end or asks for no bytes', () => {
    expect(parseRange('bytes=1000-', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=5000-6000', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-0', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
  });

  it('ignores what it does not serve: no header, another unit, several ranges, bad syntax', () => {
    for (const header of [undefined, 'items=0-5', 'bytes=0-5,10-20', 'bytes=9-5', 'bytes=-', 'bytes=a-b'])
      expect(parseRange(header, 1000), String(header)).toEqual({ kind: 'whole' });
  });
});

describe('contentRange', () => {
  it('gives the range and size of a 206, and only the size of a 416', () => {
    expect(contentRange({ kind: 'range', start: 0, end: 99 }, 1000)).toBe('bytes 0-99/1000');
    expect(contentRange({ kind: 'unsatisfiable' }, 1000)).toBe('bytes */1000');
  });
});
