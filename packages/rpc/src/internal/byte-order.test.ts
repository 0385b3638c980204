import { describe, expect, it } from 'vitest';
import { HOST_IS_LITTLE_ENDIAN, copyAsLittleEndian, swapBytesInPlace } from './byte-order.js';

describe('byte order', () => {
  it('detects the host order the same way DataView does', () => {
    const bytes = new Uint8Array(2);
    new Uint16Array(bytes.buffer)[0] = 0x0102;
    expect(HOST_IS_LITTLE_ENDIAN).toBe(new DataView(bytes.buffer).getUint16(0, true) === 0x0102);
  });

  it('reverses the bytes of every element and is its own inverse', () => {
    const bytes = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    swapBytesInPlace(bytes, 4);
    expect(Array.from(bytes)).toEqual([4, 3, 2, 1, 8, 7, 6, 5]);
    swapBytesInPlace(bytes, 4);
    expect(Array.from(bytes)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    swapBytesInPlace(bytes, 8);
    expect(Array.from(bytes)).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('swaps only on a big-endian host and always copies', () => {
    const source = Uint8Array.from([1, 2, 3, 4]);
    const little = copyAsLittleEndian(source, 4, true);
    const big = copyAsLittleEndian(source, 4, false);
    expect(Array.from(little)).toEqual([1, 2, 3, 4]);
    expect(Array.from(big)).toEqual([4, 3, 2, 1]);
    little[0] = 9;
    expect(source[0]).toBe(1);
  });

  it('turns big-endian float32 bytes into the little-endian bytes DataView writes', () => {
    const value = -1234.5;
    const bigEndian = new Uint8Array(4);
    new DataView(bigEndian.buffer).setFloat32(0, value, false);
    const littleEndian = new Uint8Array(4);
    new DataView(littleEndian.buffer).setFloat32(0, value, true);
    expect(Array.from(copyAsLittleEndian(bigEndian, 4, false))).toEqual(Array.from(littleEndian));
  });
});
