/**
 * The commonest command names, recognised from a request's bytes
 * (RequestParser): argv[0] is then a string literal of the program, not a
 * new string made from the bytes (~300 instructions less per request under
 * callgrind), and the command table's lookup of it compares a pointer.
 * Only the exact spellings all upper case and all lower case are here
 * (what clients send): any other one is made from the bytes as before, so
 * argv[0] is always exactly what was sent (MONITOR, SLOWLOG and error
 * texts show it).
 *
 * Each case is the name's bytes as little-endian int32 words: `w` the
 * first four (three for a 3-byte name), `x` the rest.
 * test/unit/server/command-names.test.ts checks every entry against its
 * name.
 */

/** The names recognised, all upper case (each also all lower case). */
export const KNOWN_NAMES: readonly string[] = ['GET', 'SET', 'DEL', 'INCR', 'MGET', 'MSET', 'PING', 'HGET', 'HSET', 'LPOP', 'RPOP', 'SADD', 'ZADD', 'XADD', 'EXEC', 'LPUSH', 'RPUSH', 'PFADD', 'MULTI', 'EXISTS', 'EXPIRE', 'GEOADD', 'EVALSHA'];

/** The string literal for the command name `b[s, e)`, or undefined when it is not one of KNOWN_NAMES's spellings. */
export function commandName(b: Uint8Array, s: number, e: number): string | undefined {
  const n = e - s;
  if (n < 3 || n > 7) return undefined;
  const w = b[s]! | (b[s + 1]! << 8) | (b[s + 2]! << 16) | (n > 3 ? b[s + 3]! << 24 : 0);
  if (n === 3) {
    // prettier-ignore
    switch (w) {
      case 0x544547: return 'GET';
      case 0x746567: return 'get';
      case 0x544553: return 'SET';
      case 0x746573: return 'set';
      case 0x4c4544: return 'DEL';
      case 0x6c6564: return 'del';
    }
    return undefined;
  }
  if (n === 4) {
    // prettier-ignore
    switch (w) {
      case 0x52434e49: return 'INCR';
      case 0x72636e69: return 'incr';
      case 0x5445474d: return 'MGET';
      case 0x7465676d: return 'mget';
      case 0x5445534d: return 'MSET';
      case 0x7465736d: return 'mset';
      case 0x474e4950: return 'PING';
      case 0x676e6970: return 'ping';
      case 0x54454748: return 'HGET';
      case 0x74656768: return 'hget';
      case 0x54455348: return 'HSET';
      case 0x74657368: return 'hset';
      case 0x504f504c: return 'LPOP';
      case 0x706f706c: return 'lpop';
      case 0x504f5052: return 'RPOP';
      case 0x706f7072: return 'rpop';
      case 0x44444153: return 'SADD';
      case 0x64646173: return 'sadd';
      case 0x4444415a: return 'ZADD';
      case 0x6464617a: return 'zadd';
      case 0x44444158: return 'XADD';
      case 0x64646178: return 'xadd';
      case 0x43455845: return 'EXEC';
      case 0x63657865: return 'exec';
    }
    return undefined;
  }
  const x = b[s + 4]! | (n > 5 ? b[s + 5]! << 8 : 0) | (n > 6 ? b[s + 6]! << 16 : 0);
  // prettier-ignore
  switch (w) {
    case 0x5355504c: return n === 5 && x === 0x48 ? 'LPUSH' : undefined;
    case 0x7375706c: return n === 5 && x === 0x68 ? 'lpush' : undefined;
    case 0x53555052: return n === 5 && x === 0x48 ? 'RPUSH' : undefined;
    case 0x73757072: return n === 5 && x === 0x68 ? 'rpush' : undefined;
    case 0x44414650: return n === 5 && x === 0x44 ? 'PFADD' : undefined;
    case 0x64616670: return n === 5 && x === 0x64 ? 'pfadd' : undefined;
    case 0x544c554d: return n === 5 && x === 0x49 ? 'MULTI' : undefined;
    case 0x746c756d: return n === 5 && x === 0x69 ? 'multi' : undefined;
    case 0x53495845: return n === 6 && x === 0x5354 ? 'EXISTS' : undefined;
    case 0x73697865: return n === 6 && x === 0x7374 ? 'exists' : undefined;
    case 0x49505845: return n === 6 && x === 0x4552 ? 'EXPIRE' : undefined;
    case 0x69707865: return n === 6 && x === 0x6572 ? 'expire' : undefined;
    case 0x414f4547: return n === 6 && x === 0x4444 ? 'GEOADD' : undefined;
    case 0x616f6567: return n === 6 && x === 0x6464 ? 'geoadd' : undefined;
    case 0x4c415645: return n === 7 && x === 0x414853 ? 'EVALSHA' : undefined;
    case 0x6c617665: return n === 7 && x === 0x616873 ? 'evalsha' : undefined;
  }
  return undefined;
}
