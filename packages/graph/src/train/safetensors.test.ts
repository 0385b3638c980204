import { describe, expect, it } from 'vitest';

import { SafetensorsError, decodeSafetensors, encodeSafetensors } from './safetensors.js';
import type { SafetensorsErrorCode, SafetensorsTensor } from './safetensors.js';

/** Builds a file by hand from a header object and a data section, as the format spec describes it. */
function rawFile(header: unknown, data: Uint8Array, headerLen?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLen ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function reasonOf(f: () => unknown): SafetensorsErrorCode | undefined {
  try {
    f();
  } catch (err) {
    if (err instanceof SafetensorsError) return err.reason;
    throw err;
  }
  return undefined;
}

describe('safetensors', () => {
  it('round-trips tensors of several dtypes bit for bit, NaN payloads, -0, scalars and empty tensors included', () => {
    const f32 = new Float32Array([1.5, -0, Infinity, 3.4e38]);
    new Uint32Array(f32.buffer)[3] = 0x7fc01234; // a NaN with a payload
    const tensors: Record<string, SafetensorsTensor> = {
      'enc.w': { dtype: 'F32', shape: [2, 2], data: f32 },
      step: { dtype: 'I64', shape: [], data: new BigInt64Array([123456789012345n]) },
      mask: { dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
      empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
      half: { dtype: 'F16', shape: [1], data: new Uint16Array([0x3c00]) },
      dbl: { dtype: 'F64', shape: [1, 1], data: new Float64Array([Math.PI]) },
    };
    const bytes = encodeSafetensors(tensors, { config: '{"width":32}' });
    const { tensors: back, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ config: '{"width":32}' });
    expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const b = back[name] as SafetensorsTensor;
      expect(b.dtype).toBe(t.dtype);
      expect(b.shape).toEqual(t.shape);
      expect(
        Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength).equals(
          Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        ),
      ).toBe(true);
    }
  });

  it('writes the layout of the spec: u64 LE header length, space-padded JSON, 8-aligned data', () => {
    const bytes = encodeSafetensors({ a: { dtype: 'F32', shape: [1], data: new Float32Array([2]) } });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as unknown;
    expect(header).toEqual({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } });
    expect(bytes.length).toBe(8 + n + 4);
    expect(new Float32Array(bytes.slice(8 + n).buffer)[0]).toBe(2);
  });

  it('reads a file built by hand from the spec, with unaligned data', () => {
    const data = new Uint8Array(new Float32Array([1, 2, 3]).buffer);
    const file = rawFile(
      { x: { dtype: 'F32', shape: [3], data_offsets: [0, 12] }, __metadata__: { k: 'v' } },
      data,
    );
    const { tensors, metadata } = decodeSafetensors(file);
    expect(Array.from(tensors.x?.data as Float32Array)).toEqual([1, 2, 3]);
    expect(metadata.k).toBe('v');
  });

  const good = (): Uint8Array =>
    encodeSafetensors({
      a: { dtype: 'F32', shape: [4], data: new Float32Array([1, 2, 3, 4]) },
      b: { dtype: 'F32', shape: [2], data: new Float32Array([5, 6]) },
    });

  it('rejects a truncated file, naming the tensor past the end', () => {
    const bytes = good();
    expect(() => decodeSafetensors(bytes.subarray(0, bytes.length - 3))).toThrow(
      /data section is 21 bytes but tensor 'b' ends at 24: the file is truncated/,
    );
    expect(reasonOf(() => decodeSafetensors(bytes.subarray(0, 5)))).toBe('TRUNCATED');
    expect(reasonOf(() => decodeSafetensors(bytes.subarray(0, 20)))).toBe('BAD_HEADER_LENGTH');
  });

  it('rejects a corrupt header length', () => {
    const huge = good();
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    expect(() => decodeSafetensors(huge)).toThrow(
      /header length 1099511627776 exceeds the 100000000-byte limit/,
    );
    const short = good();
    new DataView(short.buffer).setBigUint64(0, 10n, true);
    expect(reasonOf(() => decodeSafetensors(short))).toBe('BAD_HEADER');
  });

  it('rejects overlapping offsets, holes and trailing bytes', () => {
    const d = new Uint8Array(16);
    const overlap = rawFile(
      {
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F32', shape: [3], data_offsets: [4, 16] },
      },
      d,
    );
    expect(() => decodeSafetensors(overlap)).toThrow(/tensor 'b' \[4, 16\) overlaps 'a' which ends at 8/);
    const hole = rawFile(
      {
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F32', shape: [1], data_offsets: [12, 16] },
      },
      d,
    );
    expect(reasonOf(() => decodeSafetensors(hole))).toBe('HOLE');
    const trailing = rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, d);
    expect(() => decodeSafetensors(trailing)).toThrow(/8 trailing bytes after the last tensor 'a'/);
  });

  it('rejects unknown dtypes, offsets that disagree with the shape, and non-string metadata', () => {
    const d = new Uint8Array(8);
    expect(
      reasonOf(() => decodeSafetensors(rawFile({ a: { dtype: 'F31', shape: [2], data_offsets: [0, 8] } }, d))),
    ).toBe('BAD_DTYPE');
    expect(() =>
      decodeSafetensors(rawFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, d)),
    ).toThrow(/tensor 'a': F32 \[3\] needs 12 bytes, data_offsets \[0, 8\] give 8/);
    expect(
      reasonOf(() => decodeSafetensors(rawFile({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, d))),
    ).toBe('BAD_SHAPE');
    expect(
      reasonOf(() => decodeSafetensors(rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, d))),
    ).toBe('BAD_OFFSETS');
    expect(reasonOf(() => decodeSafetensors(rawFile({ __metadata__: { n: 3 } }, new Uint8Array(0))))).toBe(
      'BAD_METADATA',
    );
    expect(reasonOf(() => decodeSafetensors(rawFile([1, 2], new Uint8Array(0))))).toBe('BAD_HEADER');
  });

  it('refuses to write data whose length or type disagrees with shape and dtype', () => {
    expect(() => encodeSafetensors({ a: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).toThrow(
      /shape \[3\] has 3 elements, data has 2/,
    );
    expect(() => encodeSafetensors({ a: { dtype: 'F64', shape: [2], data: new Float32Array(2) } })).toThrow(
      /needs a Float64Array, got Float32Array/,
    );
    expect(() =>
      encodeSafetensors({ __metadata__: { dtype: 'F32', shape: [], data: new Float32Array(1) } }),
    ).toThrow(/invalid tensor name/);
  });
});
