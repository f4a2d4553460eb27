/**
 * Redis Cluster's hash slot of a key: CRC16 (XMODEM) of the key, or of the
 * part inside its first non-empty {…} (a hash tag), modulo 16384. In util so
 * that the keyspace's per-slot key index (keyspace/key-table.ts) and the
 * commands' routing (commands/routing.ts) share one definition.
 */

const CRC16_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let j = 0; j < 8; j++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    t[i] = crc;
  }
  return t;
})();

/** CRC16-CCITT (XMODEM), as Redis's crc16.c. `s` is latin1 (one char per byte). */
export function crc16(s: string, start = 0, end = s.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ s.charCodeAt(i)) & 0xff]!;
  return crc;
}

/** Redis's keyHashSlot: only the part inside the first non-empty {…} is hashed. */
export function keyHashSlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return crc16(key, open + 1, close) & 16383;
  }
  return crc16(key) & 16383;
}
