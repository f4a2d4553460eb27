/**
 * Redis's crc64 (crc64.c: Jones polynomial 0xad93d23594c935a9, reflected,
 * initial value 0), the checksum of DUMP payloads and RDB files.
 */
const CRC64_TABLE = ((): BigUint64Array => {
  const poly = 0x95ac9329ac4bc9b5n;
  const t = new BigUint64Array(256);
  for (let i = 0; i < 256; i++) {
    let c = BigInt(i);
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ poly : c >> 1n;
    t[i] = c;
  }
  return t;
})();

/**
 * The same table split in 32-bit halves, so the loop runs on numbers
 * (a bigint per byte is slow on multi-megabyte RDB files).
 */
const LO = new Uint32Array(256);
const HI = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  LO[i] = Number(CRC64_TABLE[i]! & 0xffffffffn);
  HI[i] = Number(CRC64_TABLE[i]! >> 32n);
}

/** Redis's crc64(crc, buf[start..end)). */
export function crc64(buf: Uint8Array, start = 0, end = buf.length, crc = 0n): bigint {
  let lo = Number(crc & 0xffffffffn) >>> 0;
  let hi = Number(crc >> 32n) >>> 0;
  for (let i = start; i < end; i++) {
    const k = (lo ^ buf[i]!) & 0xff;
    // crc = table[k] ^ (crc >> 8)
    const nlo = ((lo >>> 8) | (hi << 24)) >>> 0;
    const nhi = hi >>> 8;
    lo = (LO[k]! ^ nlo) >>> 0;
    hi = (HI[k]! ^ nhi) >>> 0;
  }
  return (BigInt(hi) << 32n) | BigInt(lo);
}
