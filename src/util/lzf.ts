/**
 * LZF as Redis 7.0 builds it (deps/lzf: liblzf 3.6 with HLOG 16, VERY_FAST,
 * STRICT_ALIGN, offsets in the hash table), for RDB strings in FUNCTION DUMP
 * payloads. The compressor is a transcription of lzf_compress so a payload
 * compresses to the same bytes as redis-server's; Redis leaves its hash
 * table uninitialised, which only ever adds candidate matches that are
 * checked byte by byte, and raftis starts from an empty one.
 */
const HLOG = 16;
const HSIZE = 1 << HLOG;
const MAX_LIT = 1 << 5;
const MAX_OFF = 1 << 13;
const MAX_REF = (1 << 8) + (1 << 3);

const idx = (h: number): number => (((h >>> (3 * 8 - HLOG)) - Math.imul(h, 5)) & (HSIZE - 1)) >>> 0;

let htab: Int32Array | undefined;

/** lzf_compress into at most `outLen` bytes: the compressed bytes, or undefined when they do not fit. */
export function lzfCompress(input: Uint8Array, outLen: number): Uint8Array | undefined {
  const inLen = input.length;
  if (inLen === 0 || outLen <= 0) return undefined;
  const tab = (htab ??= new Int32Array(HSIZE));
  tab.fill(0);
  const out = new Uint8Array(outLen);
  const inEnd = inLen;
  const outEnd = outLen;
  let ip = 0;
  let op = 0;
  let lit = 0;
  op++; // start run
  let hval = ((input[ip]! << 8) | input[ip + 1]!) >>> 0;
  const next = (v: number, p: number): number => ((v << 8) | input[p + 2]!) >>> 0;
  while (ip < inEnd - 2) {
    hval = next(hval, ip);
    const slot = idx(hval);
    const ref = tab[slot]!;
    tab[slot] = ip;
    const off = ip - ref - 1;
    if (off >= 0 && off < MAX_OFF && ref > 0 && input[ref + 2] === input[ip + 2] && input[ref] === input[ip] && input[ref + 1] === input[ip + 1]) {
      let len = 2;
      let maxlen = inEnd - ip - len;
      if (maxlen > MAX_REF) maxlen = MAX_REF;
      if (op + 3 + 1 >= outEnd && op - (lit === 0 ? 1 : 0) + 3 + 1 >= outEnd) return undefined;
      out[op - lit - 1] = lit - 1; // stop run
      op -= lit === 0 ? 1 : 0; // undo run if length is zero
      let done = false;
      if (maxlen > 16) {
        for (let k = 0; k < 16; k++) {
          len++;
          if (input[ref + len] !== input[ip + len]) {
            done = true;
            break;
          }
        }
      }
      if (!done) {
        do len++;
        while (len < maxlen && input[ref + len] === input[ip + len]);
      }
      len -= 2; // len is now #octets - 1
      ip++;
      if (len < 7) {
        out[op++] = (off >> 8) + (len << 5);
      } else {
        out[op++] = (off >> 8) + (7 << 5);
        out[op++] = len - 7;
      }
      out[op++] = off & 0xff;
      lit = 0;
      op++; // start run
      ip += len + 1;
      if (ip >= inEnd - 2) break;
      ip -= 2;
      hval = ((input[ip]! << 8) | input[ip + 1]!) >>> 0;
      hval = next(hval, ip);
      tab[idx(hval)] = ip;
      ip++;
      hval = next(hval, ip);
      tab[idx(hval)] = ip;
      ip++;
    } else {
      if (op >= outEnd) return undefined;
      lit++;
      out[op++] = input[ip++]!;
      if (lit === MAX_LIT) {
        out[op - lit - 1] = lit - 1;
        lit = 0;
        op++;
      }
    }
  }
  if (op + 3 > outEnd) return undefined;
  while (ip < inEnd) {
    lit++;
    out[op++] = input[ip++]!;
    if (lit === MAX_LIT) {
      out[op - lit - 1] = lit - 1;
      lit = 0;
      op++;
    }
  }
  out[op - lit - 1] = lit - 1; // end run
  op -= lit === 0 ? 1 : 0;
  return out.subarray(0, op);
}

/** lzf_decompress into exactly `outLen` bytes (rdbLoadLzfStringObject), or undefined for bad data. */
export function lzfDecompress(input: Uint8Array, outLen: number): Buffer | undefined {
  const out = Buffer.alloc(outLen);
  let ip = 0;
  let op = 0;
  const inEnd = input.length;
  if (inEnd === 0) return outLen === 0 ? out : undefined;
  do {
    let ctrl = input[ip++]!;
    if (ctrl < 1 << 5) {
      ctrl++;
      if (op + ctrl > outLen || ip + ctrl > inEnd) return undefined;
      for (let k = 0; k < ctrl; k++) out[op++] = input[ip++]!;
    } else {
      let len = ctrl >> 5;
      let ref = op - ((ctrl & 0x1f) << 8) - 1;
      if (ip >= inEnd) return undefined;
      if (len === 7) {
        len += input[ip++]!;
        if (ip >= inEnd) return undefined;
      }
      ref -= input[ip++]!;
      if (op + len + 2 > outLen || ref < 0) return undefined;
      for (let k = 0; k < len + 2; k++) out[op++] = out[ref++]!;
    }
  } while (ip < inEnd);
  return op === outLen ? out : undefined;
}
