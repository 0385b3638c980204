/** True when this host stores multi-byte numbers least significant byte first (x86, ARM as used). */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Reverses the byte order of every `itemSize`-byte element of `bytes`, in place. Works on bytes, never
 * on numbers, so NaN payloads survive (a float round trip through a JS number may canonicalise them).
 * @param bytes - element bytes; length a multiple of itemSize
 * @param itemSize - bytes per element: 1 (no-op), 2, 4 or 8
 */
export function swapBytesInPlace(bytes: Uint8Array, itemSize: number): void {
  if (itemSize === 1) return;
  for (let start = 0; start < bytes.length; start += itemSize) {
    for (let lo = start, hi = start + itemSize - 1; lo < hi; lo++, hi--) {
      const b = bytes[lo] as number;
      bytes[lo] = bytes[hi] as number;
      bytes[hi] = b;
    }
  }
}

/**
 * Copies host-order element bytes to a new little-endian buffer (or the reverse: the operation is its
 * own inverse), swapping only on big-endian hosts.
 * @param hostOrLittle - element bytes
 * @param itemSize - bytes per element
 * @param littleEndianHost - the host's byte order. @defaultValue {@link HOST_IS_LITTLE_ENDIAN}
 */
export function copyAsLittleEndian(
  hostOrLittle: Uint8Array,
  itemSize: number,
  littleEndianHost: boolean = HOST_IS_LITTLE_ENDIAN,
): Uint8Array {
  // A fresh ArrayBuffer of exactly this length (so aligned, offset 0). Not slice(): on a Node Buffer,
  // which protobuf decoding of a gRPC message hands out, slice() is a view into a shared pool.
  const out = new Uint8Array(hostOrLittle.byteLength);
  out.set(hostOrLittle);
  if (!littleEndianHost) swapBytesInPlace(out, itemSize);
  return out;
}
