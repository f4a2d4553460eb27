/**
 * The commonest command names, recognised from a request's bytes
 * (RequestParser): argv[0] is then a string literal of the program, not a
 * new string made from the bytes (~300 instructions less per request under
 * callgrind: StringFromCharCode and latin1), and the command table's lookup
 * of it compares a pointer. Only the exact spellings all upper case and
 * all lower case are here (what clients send): any other one is made from
 * the bytes as before, so argv[0] is always exactly what was sent (MONITOR,
 * SLOWLOG and error texts show it).
 *
 * A small open-addressing table of the names' bytes as two little-endian
 * int32 words, probed by one code path whatever the name (a `switch` over
 * constants deoptimizes the parser each time a case it has not run yet
 * comes: an un-run comparison has no type feedback).
 */

/** The names recognised, all upper case (each also all lower case). */
export const KNOWN_NAMES: readonly string[] = [
  'GET', 'SET', 'DEL', 'INCR', 'MGET', 'MSET', 'PING', 'HGET', 'HSET', 'LPOP', 'RPOP', 'SADD', 'ZADD', 'XADD', 'EXEC', 'LPUSH',
  'RPUSH', 'PFADD', 'MULTI', 'EXISTS', 'EXPIRE', 'GEOADD', 'EVALSHA',
];

/** Names of 3 to 8 bytes: two words. */
const MIN = 3;
const MAX = 8;
const SIZE = 128;
const MASK = SIZE - 1;
const lens = new Uint8Array(SIZE);
const w0s = new Int32Array(SIZE);
const w1s = new Int32Array(SIZE);
const names: string[] = new Array<string>(SIZE).fill('');

function position(n: number, w0: number, w1: number): number {
  return Math.imul(w0 ^ Math.imul(w1, 0x2c1b3c6d) ^ n, 0x9e3779b1) >>> 25;
}

for (const upper of KNOWN_NAMES) {
  for (const name of [upper, upper.toLowerCase()]) {
    const b = Buffer.from(name + '\0\0\0\0\0\0\0\0', 'latin1');
    const n = name.length;
    if (n < MIN || n > MAX) throw new Error(`command-names: ${name} is not ${MIN}..${MAX} bytes`);
    const w0 = b.readInt32LE(0);
    const w1 = b.readInt32LE(4);
    let i = position(n, w0, w1);
    while (lens[i] !== 0) i = (i + 1) & MASK;
    lens[i] = n;
    w0s[i] = w0;
    w1s[i] = w1;
    names[i] = name;
  }
}

/** By a name's length: masks keeping its bytes of the first word (3 or 4) and of the second (0 to 4), so that what follows it in the buffer does not count. */
const KEEP0 = new Int32Array([0, 0, 0, 0xffffff, -1, -1, -1, -1, -1]);
const KEEP1 = new Int32Array([0, 0, 0, 0, 0, 0xff, 0xffff, 0xffffff, -1]);

/**
 * The string literal for the command name `b[s, e)`, or undefined when it
 * is not one of KNOWN_NAMES's spellings. Reads up to 8 bytes from `s`
 * whatever the length: the caller's buffer holds the name's `\r\n` and the
 * request's next argument after it (a name shorter than 8 bytes has bytes
 * after it in b; only past b's end would a read give undefined, 0 here).
 */
export function commandName(b: Uint8Array, s: number, e: number): string | undefined {
  const n = e - s;
  if (n < MIN || n > MAX || s + MAX > b.length) return undefined;
  // Every operation runs for every name: none is left without type feedback to deoptimize the parser later.
  const w0 = (b[s]! | (b[s + 1]! << 8) | (b[s + 2]! << 16) | (b[s + 3]! << 24)) & KEEP0[n]!;
  const w1 = (b[s + 4]! | (b[s + 5]! << 8) | (b[s + 6]! << 16) | (b[s + 7]! << 24)) & KEEP1[n]!;
  let i = position(n, w0, w1);
  for (;;) {
    const len = lens[i]!;
    if (len === 0) return undefined;
    if (len === n && w0s[i] === w0 && w1s[i] === w1) return names[i];
    i = (i + 1) & MASK;
  }
}
