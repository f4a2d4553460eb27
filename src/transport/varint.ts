/**
 * Unsigned LEB128 varints for the encoder side: 7 bits per byte, low group
 * first, high bit set on every byte but the last. Values are non-negative safe
 * integers (≤ 2^53 − 1), so at most 8 bytes.
 */

export function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  if (v < 0x800000000) return 5;
  if (v < 0x40000000000) return 6;
  if (v < 0x2000000000000) return 7;
  return 8;
}

/** Writes `v` at `off` and returns the offset after it. `v` must have passed checkUint. */
export function writeVarint(buf: Buffer, off: number, v: number): number {
  // Bitwise operators work on 32 bits: divide while the value is larger.
  while (v > 0x7fffffff) {
    buf[off++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  while (v >= 0x80) {
    buf[off++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[off++] = v;
  return off;
}

/**
 * Encoding a negative, fractional or unsafe number would silently produce a
 * different value on the other side: that is a bug in the caller, so throw.
 */
export function checkUint(v: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`cannot encode ${what} = ${v}: not a non-negative safe integer`);
}

/** Size of a varint length followed by `len` bytes. */
export function lengthPrefixedSize(len: number): number {
  return varintSize(len) + len;
}

const u8set = Uint8Array.prototype.set;

/** Below this many bytes a loop copies faster than Buffer.copy's native call (an entry's data is often a few dozen bytes). */
const SHORT_COPY = 64;

export function writeLengthPrefixed(buf: Buffer, off: number, data: Buffer): number {
  const n = data.length;
  if (n < 0x80) buf[off++] = n;
  else off = writeVarint(buf, off, n);
  if (n < SHORT_COPY) {
    for (let i = 0; i < n; i++) buf[off + i] = data[i]!;
  } else {
    // TypedArray#set directly: Buffer#copy is a JavaScript wrapper (copy, _copyActual) around the same native copy.
    // Called through a kept reference: as `buf.set`, optimized code looked the method up with a LoadIC call per entry.
    u8set.call(buf, data, off);
  }
  return off + n;
}
