import { describe, expect, it } from 'vitest';
import { Dtype, Tensor } from './generated/alignda/v1/common.js';
import { InvalidMessageError } from './invalid-message-error.js';
import {
  float32FromTensor,
  float64FromTensor,
  tensorFromFloat32,
  tensorFromFloat64,
} from './tensor-codec.js';

/** Sends a tensor message through protobuf binary encoding, as the wire does. */
function overTheWire(tensor: Tensor): Tensor {
  return Tensor.decode(Tensor.encode(tensor).finish());
}

/** Runs `fn`, expecting an InvalidMessageError, and returns its message. */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidMessageError);
    return (err as Error).message;
  }
  throw new Error('expected an InvalidMessageError');
}

describe('float32 tensors', () => {
  it('round-trip values and shape through the protobuf wire format', () => {
    const data = Float32Array.from({ length: 24 }, (_, i) => (i - 12) * 0.37);
    data[3] = -0;
    data[4] = Infinity;
    data[5] = 1e-45; // smallest subnormal
    const back = float32FromTensor(overTheWire(tensorFromFloat32(data, [2, 3, 4])));
    expect(back.shape).toEqual([2, 3, 4]);
    expect(Array.from(back.data)).toEqual(Array.from(data));
    expect(Object.is(back.data[3], -0)).toBe(true);
  });

  it('writes little-endian bytes, as DataView(littleEndian = true) does', () => {
    const values = [1.5, -2.25e10, 3.4028234663852886e38];
    const tensor = tensorFromFloat32(Float32Array.from(values), [3]);
    const expected = new Uint8Array(12);
    const view = new DataView(expected.buffer);
    values.forEach((v, i) => view.setFloat32(i * 4, v, true));
    expect(tensor.dtype).toBe(Dtype.FLOAT32);
    expect(Array.from(tensor.data)).toEqual(Array.from(expected));
  });

  it('preserves NaN payloads bit for bit', () => {
    // Quiet NaN with payload 1, a negative quiet NaN with payload 0x123, a signalling NaN.
    const bits = Uint32Array.from([0x7fc00001, 0xffc00123, 0x7f800001, 0x3f800000]);
    const data = new Float32Array(bits.buffer);
    const back = float32FromTensor(overTheWire(tensorFromFloat32(data, [2, 2])));
    expect(Array.from(new Uint32Array(back.data.buffer, back.data.byteOffset, 4))).toEqual(Array.from(bits));
  });

  it('reads unaligned byte views, as protobuf decoding hands them out', () => {
    const backing = new Uint8Array(9);
    new DataView(backing.buffer).setFloat32(1, 7.25, true);
    new DataView(backing.buffer).setFloat32(5, -1, true);
    const tensor: Tensor = { shape: [2], dtype: Dtype.FLOAT32, data: backing.subarray(1) };
    expect(Array.from(float32FromTensor(tensor).data)).toEqual([7.25, -1]);
  });

  it('reads pooled Node Buffers (what grpc-js decodes into) from their offset, not the pool start', () => {
    const wire = Buffer.from(Tensor.encode(tensorFromFloat32(Float32Array.from([3.5, -8]), [2])).finish());
    const decoded = Tensor.decode(wire);
    expect(Array.from(float32FromTensor(decoded).data)).toEqual([3.5, -8]);
    const pooled = Buffer.alloc(16);
    pooled.writeFloatLE(42, 5);
    const view: Tensor = { shape: [1], dtype: Dtype.FLOAT32, data: pooled.subarray(5, 9) };
    expect(Array.from(float32FromTensor(view).data)).toEqual([42]);
  });

  it('copies, so later changes to the message do not leak into the array', () => {
    const tensor = tensorFromFloat32(Float32Array.from([1, 2]), [2]);
    const back = float32FromTensor(tensor);
    tensor.data.fill(0);
    expect(Array.from(back.data)).toEqual([1, 2]);
  });

  it('treats the empty shape as a scalar and a zero dimension as empty', () => {
    expect(float32FromTensor(tensorFromFloat32(Float32Array.of(5), [])).data[0]).toBe(5);
    expect(float32FromTensor(tensorFromFloat32(new Float32Array(0), [3, 0])).data.length).toBe(0);
  });

  it('rejects a byte length that does not match the shape, naming both', () => {
    const tensor: Tensor = { shape: [2, 3], dtype: Dtype.FLOAT32, data: new Uint8Array(23) };
    expect(errorOf(() => float32FromTensor(tensor, 'background_latent'))).toBe(
      'background_latent.data: has 23 bytes, but shape [2, 3] of FLOAT32 needs 24 (6 elements x 4 bytes)',
    );
  });

  it('rejects a value count that does not fill the shape when encoding', () => {
    expect(errorOf(() => tensorFromFloat32(new Float32Array(5), [2, 3]))).toBe(
      'tensor: 5 values do not fill shape [2, 3] (6 elements)',
    );
  });

  it('rejects the wrong dtype, a missing tensor, bad dimensions and an unexpected shape', () => {
    const f64 = tensorFromFloat64(Float64Array.of(1), [1]);
    expect(errorOf(() => float32FromTensor(f64))).toBe('tensor.dtype: is FLOAT64, expected FLOAT32');
    expect(errorOf(() => float32FromTensor(undefined, 'latents'))).toBe('latents: is required');
    expect(errorOf(() => tensorFromFloat32(new Float32Array(0), [2, -1]))).toMatch(
      /^tensor\.shape\[1\]: dimension -1/,
    );
    expect(errorOf(() => tensorFromFloat32(new Float32Array(3), [1.5, 2]))).toMatch(
      /^tensor\.shape\[0\]: dimension 1\.5/,
    );
    const latents = tensorFromFloat32(new Float32Array(2 * 4 * 2 * 2), [2, 4, 2, 2]);
    expect(float32FromTensor(latents, 'latents', [null, 4, 2, 2]).shape).toEqual([2, 4, 2, 2]);
    expect(errorOf(() => float32FromTensor(latents, 'latents', [null, 3, 2, 2]))).toBe(
      'latents.shape: is [2, 4, 2, 2], expected [*, 3, 2, 2]',
    );
  });
});

describe('float64 tensors', () => {
  it('round-trip through the wire format, little-endian', () => {
    const data = Float64Array.from([Math.PI, -1e300, 5e-324]);
    const tensor = tensorFromFloat64(data, [3]);
    expect(new DataView(tensor.data.buffer, tensor.data.byteOffset).getFloat64(0, true)).toBe(Math.PI);
    expect(Array.from(float64FromTensor(overTheWire(tensor)).data)).toEqual(Array.from(data));
  });
});
