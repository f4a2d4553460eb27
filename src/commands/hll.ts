/**
 * Redis's HyperLogLog representation (redis/src/hyperloglog.c, 7.0.15),
 * byte for byte: a string holding a 16-byte header ("HYLL", the encoding,
 * three unused bytes, the cached cardinality little endian with bit 63 set
 * when it is stale) and either the dense registers (16384 six-bit counters,
 * 12288 bytes) or the sparse run-length opcodes (ZERO, XZERO, VAL). The
 * same MurmurHash64A, the same sparse edits and merges, the same promotion
 * to dense (a register above 32, or a sparse string that would pass
 * hll-sparse-max-bytes, 3000), the same estimator (Ertl's improved
 * estimator, as Redis since 5.0), so GET of a HyperLogLog equals
 * redis-server's.
 *
 * An HLL is worked on as a Uint8Array copy of the string and written back
 * as a latin1 string; nothing here touches the keyspace.
 */

export const HLL_P = 14;
export const HLL_Q = 64 - HLL_P;
export const HLL_REGISTERS = 1 << HLL_P;
const HLL_P_MASK = HLL_REGISTERS - 1;
const HLL_BITS = 6;
const HLL_REGISTER_MAX = (1 << HLL_BITS) - 1;
export const HLL_HDR_SIZE = 16;
export const HLL_DENSE_SIZE = HLL_HDR_SIZE + Math.floor((HLL_REGISTERS * HLL_BITS + 7) / 8);
export const HLL_DENSE = 0;
export const HLL_SPARSE = 1;
const HLL_MAX_ENCODING = 1;
/**
 * hll-sparse-max-bytes (default 3000): a sparse HLL that would grow past it becomes dense. Cluster-wide (its
 * CONFIG SET is a log entry), so every replica converts at the same PFADD; the engine sets it from its Config.
 */
export const hllLimits = { sparseMaxBytes: 3000 };

const SPARSE_VAL_MAX_VALUE = 32;
const SPARSE_VAL_MAX_LEN = 4;
const SPARSE_ZERO_MAX_LEN = 64;
const SPARSE_XZERO_MAX_LEN = 16384;
const HLL_ALPHA_INF = 0.72134752044448170368;

const isZero = (b: number): boolean => (b & 0xc0) === 0;
const isXzero = (b: number): boolean => (b & 0xc0) === 0x40;
const isVal = (b: number): boolean => (b & 0x80) !== 0;
const zeroLen = (b: number): number => (b & 0x3f) + 1;
const xzeroLen = (b: number, b1: number | undefined): number => (((b & 0x3f) << 8) | (b1 ?? 0)) + 1;
const valValue = (b: number): number => ((b >> 2) & 0x1f) + 1;
const valLen = (b: number): number => (b & 0x3) + 1;
const valByte = (val: number, len: number): number => (((val - 1) << 2) | (len - 1) | 0x80) & 0xff;

// ---------------------------------------------------------------- hashing

/** MurmurHash64A's multiplier, as two 32-bit halves. */
const M_HI = 0xc6a4a793;
const M_LO = 0x5bd1e995;

/**
 * The 64-bit state of murmurHash64A as two 32-bit halves (no BigInt: PFADD
 * hashes every element, and BigInt arithmetic allocates), each held as a
 * signed int32 (`| 0`, never `>>> 0`): a uint32 at or above 2^31 is no small
 * integer to V8, so every store of one into these module variables (and
 * every call passing one) would box it in a new heap number.
 */
let hHi = 0;
let hLo = 0;

/** (hi:lo) * M mod 2^64, written back into mHi/mLo (int32 halves). */
let mHi = 0;
let mLo = 0;
function mulM(hi: number, lo: number): void {
  // The high 32 bits of (lo as uint32) * M_LO, in doubles: every partial stays below 2^53, so it is exact.
  const carry = Math.floor(((lo >>> 16) * M_LO + Math.floor(((lo & 0xffff) * M_LO) / 65536)) / 65536);
  mLo = Math.imul(lo, M_LO);
  mHi = (carry + Math.imul(hi, M_LO) + Math.imul(lo, M_HI)) | 0;
}

/**
 * MurmurHash64A as Redis has it (endian neutral), over a latin1 string's
 * bytes; the result in hHi/hLo. The block loop multiplies in local
 * variables (mulM's arithmetic written out): the loop body calls nothing.
 */
function murmur64(key: string, seed: number): void {
  const len = key.length;
  // h = seed ^ (len * M)
  mulM(0, len);
  let h = mHi;
  let l = mLo ^ seed;
  const blocks = len - (len & 7);
  for (let i = 0; i < blocks; i += 8) {
    let kl = key.charCodeAt(i) | (key.charCodeAt(i + 1) << 8) | (key.charCodeAt(i + 2) << 16) | (key.charCodeAt(i + 3) << 24);
    let kh = key.charCodeAt(i + 4) | (key.charCodeAt(i + 5) << 8) | (key.charCodeAt(i + 6) << 16) | (key.charCodeAt(i + 7) << 24);
    // k *= m
    let c = Math.floor(((kl >>> 16) * M_LO + Math.floor(((kl & 0xffff) * M_LO) / 65536)) / 65536);
    kh = (c + Math.imul(kh, M_LO) + Math.imul(kl, M_HI)) | 0;
    kl = Math.imul(kl, M_LO);
    // k ^= k >> r
    kl ^= kh >>> 15;
    // k *= m
    c = Math.floor(((kl >>> 16) * M_LO + Math.floor(((kl & 0xffff) * M_LO) / 65536)) / 65536);
    kh = (c + Math.imul(kh, M_LO) + Math.imul(kl, M_HI)) | 0;
    kl = Math.imul(kl, M_LO);
    // h ^= k; h *= m
    h ^= kh;
    l ^= kl;
    c = Math.floor(((l >>> 16) * M_LO + Math.floor(((l & 0xffff) * M_LO) / 65536)) / 65536);
    h = (c + Math.imul(h, M_LO) + Math.imul(l, M_HI)) | 0;
    l = Math.imul(l, M_LO);
  }
  const rest = len & 7;
  if (rest > 0) {
    for (let j = rest - 1; j >= 0; j--) {
      const c = key.charCodeAt(blocks + j);
      if (j >= 4) h ^= c << (8 * (j - 4));
      else l ^= c << (8 * j);
    }
    mulM(h, l);
    h = mHi;
    l = mLo;
  }
  // h ^= h >> r; h *= m; h ^= h >> r
  l ^= h >>> 15;
  mulM(h, l);
  hHi = mHi;
  hLo = mLo ^ (mHi >>> 15);
}

/** MurmurHash64A as Redis has it (endian neutral), over a latin1 string's bytes. */
export function murmurHash64A(key: string, seed: number): bigint {
  murmur64(key, seed | 0);
  return (BigInt(hHi >>> 0) << 32n) | BigInt(hLo >>> 0);
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** The register patLen found (set by patLenOf). */
let patIndex = 0;
/** The pattern length patLen found (set by patLenOf). */
let patCount = 0;

/** hllPatLen into patIndex / patCount, without allocating. */
function patLenOf(ele: string): void {
  murmur64(ele, 0xadc83b19 | 0);
  patIndex = hLo & HLL_P_MASK;
  // The 50 bits above the index, with bit Q set as Redis's sentinel.
  const restLo = (hLo >>> HLL_P) | (hHi << (32 - HLL_P));
  const restHi = (hHi >>> HLL_P) | (1 << (HLL_Q - 32));
  patCount = restLo !== 0 ? 1 + ctz32(restLo) : 33 + ctz32(restHi);
}

/** hllPatLen: the register an element hashes to and the length of its 000..1 pattern (1 to Q+1). */
export function patLen(ele: string): { index: number; count: number } {
  patLenOf(ele);
  return { index: patIndex, count: patCount };
}

// ---------------------------------------------------------------- registers

/** HLL_DENSE_GET_REGISTER on the registers starting at `off` (the byte past the end reads as 0, as sds's terminator). */
export function denseGet(b: Uint8Array, off: number, reg: number): number {
  const byte = off + ((reg * HLL_BITS) >> 3);
  const fb = (reg * HLL_BITS) & 7;
  const b0 = b[byte]!;
  const b1 = b[byte + 1] ?? 0;
  return ((b0 >> fb) | (b1 << (8 - fb))) & HLL_REGISTER_MAX;
}

function denseSetRaw(b: Uint8Array, off: number, reg: number, val: number): void {
  const byte = off + ((reg * HLL_BITS) >> 3);
  const fb = (reg * HLL_BITS) & 7;
  const fb8 = 8 - fb;
  b[byte] = (b[byte]! & ~(HLL_REGISTER_MAX << fb)) | (val << fb);
  if (byte + 1 < b.length) b[byte + 1] = (b[byte + 1]! & ~(HLL_REGISTER_MAX >> fb8)) | (val >> fb8);
}

/** hllDenseSet: raises a register; 1 when it changed. */
function denseSet(b: Uint8Array, reg: number, count: number): 0 | 1 {
  if (count > denseGet(b, HLL_HDR_SIZE, reg)) {
    denseSetRaw(b, HLL_HDR_SIZE, reg, count);
    return 1;
  }
  return 0;
}

// ---------------------------------------------------------------- objects

/** A HyperLogLog being worked on: its bytes (replaced when a sparse edit changes the length). */
export class Hll {
  constructor(public b: Uint8Array) {}

  static fromString(s: string): Hll {
    const buf = Buffer.allocUnsafeSlow(s.length);
    buf.write(s, 0, s.length, 'latin1');
    return new Hll(new Uint8Array(buf.buffer, buf.byteOffset, s.length));
  }

  /** createHLLObject: sparse, every register in XZERO opcodes, cache 0 and valid. */
  static create(): Hll {
    const n = Math.ceil(HLL_REGISTERS / SPARSE_XZERO_MAX_LEN);
    const b = new Uint8Array(HLL_HDR_SIZE + n * 2);
    b.set([0x48, 0x59, 0x4c, 0x4c, HLL_SPARSE]);
    let aux = HLL_REGISTERS;
    let p = HLL_HDR_SIZE;
    while (aux > 0) {
      const xz = Math.min(aux, SPARSE_XZERO_MAX_LEN) - 1;
      b[p] = (xz >> 8) | 0x40;
      b[p + 1] = xz & 0xff;
      p += 2;
      aux -= xz + 1;
    }
    return new Hll(b);
  }

  toString(): string {
    return Buffer.from(this.b.buffer, this.b.byteOffset, this.b.length).toString('latin1');
  }

  get encoding(): number {
    return this.b[4]!;
  }

  invalidateCache(): void {
    this.b[15] = this.b[15]! | 0x80;
  }

  get cacheValid(): boolean {
    return (this.b[15]! & 0x80) === 0;
  }

  /** The cached cardinality (a uint64). */
  get cachedCard(): bigint {
    let v = 0n;
    for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(this.b[8 + i]!);
    return v;
  }

  set cachedCard(card: bigint) {
    for (let i = 0; i < 8; i++) this.b[8 + i] = Number((card >> BigInt(8 * i)) & 0xffn);
  }

  /** hllSparseToDense: false when the sparse opcodes are corrupt (nothing changed then). */
  toDense(): boolean {
    const s = this.b;
    if (s[4] === HLL_DENSE) return true;
    const d = new Uint8Array(HLL_DENSE_SIZE);
    d.set(s.subarray(0, HLL_HDR_SIZE));
    d[4] = HLL_DENSE;
    let idx = 0;
    let p = HLL_HDR_SIZE;
    const end = s.length;
    while (p < end) {
      const op = s[p]!;
      if (isZero(op)) {
        idx += zeroLen(op);
        p++;
      } else if (isXzero(op)) {
        idx += xzeroLen(op, s[p + 1]);
        p += 2;
      } else {
        let runlen = valLen(op);
        const regval = valValue(op);
        if (runlen + idx > HLL_REGISTERS) break;
        while (runlen--) denseSetRaw(d, HLL_HDR_SIZE, idx++, regval);
        p++;
      }
    }
    if (idx !== HLL_REGISTERS) return false;
    this.b = d;
    return true;
  }

  /** hllAdd: 1 when a register changed, 0 when not, -1 when the HLL is corrupt. */
  add(ele: string): -1 | 0 | 1 {
    patLenOf(ele);
    switch (this.b[4]) {
      case HLL_DENSE:
        return denseSet(this.b, patIndex, patCount);
      case HLL_SPARSE:
        return this.sparseSet(patIndex, patCount);
      default:
        return -1;
    }
  }

  /** hllDenseSet or hllSparseSet by encoding (PFMERGE's write of the maxima). */
  set(index: number, count: number): -1 | 0 | 1 {
    return this.b[4] === HLL_DENSE ? denseSet(this.b, index, count) : this.sparseSet(index, count);
  }

  /** hllSparseSet: the sparse edit, with its promotion to dense. */
  private sparseSet(index: number, count: number): -1 | 0 | 1 {
    if (count > SPARSE_VAL_MAX_VALUE) return this.promote(index, count);
    let b = this.b;
    let end = b.length;
    // Step 1: the opcode that covers the register.
    let p = HLL_HDR_SIZE;
    let first = 0;
    let prev = -1;
    let span = 0;
    while (p < end) {
      const op = b[p]!;
      let oplen = 1;
      if (isZero(op)) span = zeroLen(op);
      else if (isVal(op)) span = valLen(op);
      else {
        span = xzeroLen(op, b[p + 1]);
        oplen = 2;
      }
      if (index <= first + span - 1) break;
      prev = p;
      p += oplen;
      first += span;
    }
    if (span === 0 || p >= end) return -1;
    const op = b[p]!;
    const zero = isZero(op);
    const xzero = isXzero(op);
    const runlen = zero ? zeroLen(op) : xzero ? xzeroLen(op, b[p + 1]) : valLen(op);
    let updated = false;
    if (!zero && !xzero) {
      const oldcount = valValue(op);
      if (oldcount >= count) return 0; // case A
      if (runlen === 1) {
        b[p] = valByte(count, 1); // case B
        updated = true;
      }
    }
    if (!updated && zero && runlen === 1) {
      b[p] = valByte(count, 1); // case C
      updated = true;
    }
    if (!updated) {
      // Case D: split the opcode into up to three.
      const seq: number[] = [];
      const last = first + span - 1;
      const zeros = (len: number): void => {
        if (len > SPARSE_ZERO_MAX_LEN) seq.push(((len - 1) >> 8) | 0x40, (len - 1) & 0xff);
        else seq.push(len - 1);
      };
      if (zero || xzero) {
        if (index !== first) zeros(index - first);
        seq.push(valByte(count, 1));
        if (index !== last) zeros(last - index);
      } else {
        const curval = valValue(op);
        if (index !== first) seq.push(valByte(curval, index - first));
        seq.push(valByte(count, 1));
        if (index !== last) seq.push(valByte(curval, last - index));
      }
      const oldlen = xzero ? 2 : 1;
      // An XZERO cut off by the end of the string: corrupt (Redis would read past the end).
      if (p + oldlen > end) return -1;
      const delta = seq.length - oldlen;
      if (delta > 0 && end + delta > hllLimits.sparseMaxBytes) return this.promote(index, count);
      const nb = new Uint8Array(end + delta);
      nb.set(b.subarray(0, p));
      nb.set(seq, p);
      if (p + oldlen < end) nb.set(b.subarray(p + oldlen, end), p + seq.length);
      b = nb;
      end = nb.length;
    }
    // Step 4: merge adjacent VAL opcodes of the same value, scanning up to 5 opcodes from prev.
    p = prev >= 0 ? prev : HLL_HDR_SIZE;
    let scanlen = 5;
    let removed = 0;
    while (p < end && scanlen--) {
      const o = b[p]!;
      if (isXzero(o)) {
        p += 2;
        continue;
      } else if (isZero(o)) {
        p++;
        continue;
      }
      if (p + 1 < end && isVal(b[p + 1]!)) {
        const v1 = valValue(o);
        const v2 = valValue(b[p + 1]!);
        if (v1 === v2) {
          const len = valLen(o) + valLen(b[p + 1]!);
          if (len <= SPARSE_VAL_MAX_LEN) {
            b[p + 1] = valByte(v1, len);
            b.copyWithin(p, p + 1, end);
            end--;
            removed++;
            continue;
          }
        }
      }
      p++;
    }
    this.b = removed > 0 ? b.slice(0, end) : b;
    this.invalidateCache();
    return 1;
  }

  private promote(index: number, count: number): -1 | 1 {
    if (!this.toDense()) return -1;
    denseSet(this.b, index, count);
    return 1;
  }

  /** hllMerge: raises max[i] to this HLL's registers; false when the sparse form is corrupt. */
  mergeInto(max: Uint8Array): boolean {
    const b = this.b;
    if (b[4] === HLL_DENSE) {
      for (let i = 0; i < HLL_REGISTERS; i++) {
        const v = denseGet(b, HLL_HDR_SIZE, i);
        if (v > max[i]!) max[i] = v;
      }
      return true;
    }
    let p = HLL_HDR_SIZE;
    const end = b.length;
    let i = 0;
    while (p < end) {
      const op = b[p]!;
      if (isZero(op)) {
        i += zeroLen(op);
        p++;
      } else if (isXzero(op)) {
        i += xzeroLen(op, b[p + 1]);
        p += 2;
      } else {
        let runlen = valLen(op);
        const regval = valValue(op);
        if (runlen + i > HLL_REGISTERS) break;
        while (runlen--) {
          if (regval > max[i]!) max[i] = regval;
          i++;
        }
        p++;
      }
    }
    return i === HLL_REGISTERS;
  }

  /** hllCount for this HLL's encoding: the estimate, or undefined when a sparse form is corrupt. */
  count(): number | undefined {
    const histo = new Array<number>(64).fill(0);
    const b = this.b;
    if (b[4] === HLL_DENSE) {
      for (let i = 0; i < HLL_REGISTERS; i++) histo[denseGet(b, HLL_HDR_SIZE, i)]!++;
    } else {
      let idx = 0;
      let p = HLL_HDR_SIZE;
      const end = b.length;
      while (p < end) {
        const op = b[p]!;
        if (isZero(op)) {
          const r = zeroLen(op);
          idx += r;
          histo[0]! += r;
          p++;
        } else if (isXzero(op)) {
          const r = xzeroLen(op, b[p + 1]);
          idx += r;
          histo[0]! += r;
          p += 2;
        } else {
          const r = valLen(op);
          idx += r;
          histo[valValue(op)]! += r;
          p++;
        }
      }
      if (idx !== HLL_REGISTERS) return undefined;
    }
    return estimate(histo);
  }

  /** PFDEBUG DECODE's text of the sparse opcodes. */
  decode(): string {
    const b = this.b;
    const parts: string[] = [];
    let p = HLL_HDR_SIZE;
    while (p < b.length) {
      const op = b[p]!;
      if (isZero(op)) {
        parts.push(`z:${zeroLen(op)}`);
        p++;
      } else if (isXzero(op)) {
        parts.push(`Z:${xzeroLen(op, b[p + 1])}`);
        p += 2;
      } else {
        parts.push(`v:${valValue(op)},${valLen(op)}`);
        p++;
      }
    }
    return parts.join(' ');
  }
}

/** The cardinality of raw registers (one byte each): PFCOUNT of several keys. */
export function countRaw(max: Uint8Array): number {
  const histo = new Array<number>(64).fill(0);
  for (let i = 0; i < HLL_REGISTERS; i++) histo[max[i]!]!++;
  return estimate(histo);
}

/** isHLLObjectOrReply's test of a string value. */
export function isValidHll(s: string): boolean {
  if (s.length < HLL_HDR_SIZE) return false;
  if (s.charCodeAt(0) !== 0x48 || s.charCodeAt(1) !== 0x59 || s.charCodeAt(2) !== 0x4c || s.charCodeAt(3) !== 0x4c) return false;
  const enc = s.charCodeAt(4);
  if (enc > HLL_MAX_ENCODING) return false;
  return !(enc === HLL_DENSE && s.length !== HLL_DENSE_SIZE);
}

function sigma(x: number): number {
  if (x === 1) return Infinity;
  let zPrime: number;
  let y = 1;
  let z = x;
  do {
    x *= x;
    zPrime = z;
    z += x * y;
    y += y;
  } while (zPrime !== z);
  return z;
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let zPrime: number;
  let y = 1.0;
  let z = 1 - x;
  do {
    x = Math.sqrt(x);
    zPrime = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
  } while (zPrime !== z);
  return z / 3;
}

/** hllCount's estimate from the register histogram (Ertl, arXiv:1702.01284). */
function estimate(histo: number[]): number {
  const m = HLL_REGISTERS;
  let z = m * tau((m - histo[HLL_Q + 1]!) / m);
  for (let j = HLL_Q; j >= 1; --j) {
    z += histo[j]!;
    z *= 0.5;
  }
  z += m * sigma(histo[0]! / m);
  return Math.round((HLL_ALPHA_INF * m * m) / z);
}

/** PFSELFTEST's register check: set random values in a dense HLL and read them back; the first mismatch [register, wanted, read], if any. */
export function registerSelfTest(rand: () => number, cycles: number): [number, number, number] | undefined {
  const regs = new Uint8Array(HLL_DENSE_SIZE);
  const bytes = new Uint8Array(HLL_REGISTERS);
  for (let j = 0; j < cycles; j++) {
    for (let i = 0; i < HLL_REGISTERS; i++) {
      const r = Math.floor(rand() * 256) & HLL_REGISTER_MAX;
      bytes[i] = r;
      denseSetRaw(regs, HLL_HDR_SIZE, i, r);
    }
    for (let i = 0; i < HLL_REGISTERS; i++) {
      const v = denseGet(regs, HLL_HDR_SIZE, i);
      if (v !== bytes[i]) return [i, bytes[i]!, v];
    }
  }
  return undefined;
}

/**
 * Whether hllAdd of `ele` would raise a register of the HLL stored as the
 * string `s` (already isValidHll): read straight from the string, so a
 * PFADD that changes nothing costs no copy of its 12 kB (UnchangedCheck).
 * Undefined when the sparse opcodes are corrupt (the write reports it).
 */
export function wouldRaise(s: string, ele: string): boolean | undefined {
  patLenOf(ele);
  const index = patIndex;
  if (s.charCodeAt(4) === HLL_DENSE) {
    const byte = HLL_HDR_SIZE + ((index * HLL_BITS) >> 3);
    const fb = (index * HLL_BITS) & 7;
    const b1 = byte + 1 < s.length ? s.charCodeAt(byte + 1) : 0;
    return patCount > (((s.charCodeAt(byte) >> fb) | (b1 << (8 - fb))) & HLL_REGISTER_MAX);
  }
  // hllSparseSet's step 1: the opcode that covers the register.
  let first = 0;
  for (let p = HLL_HDR_SIZE; p < s.length; ) {
    const op = s.charCodeAt(p);
    let span: number;
    let value = 0;
    if (isZero(op)) {
      span = zeroLen(op);
      p++;
    } else if (isXzero(op)) {
      span = xzeroLen(op, p + 1 < s.length ? s.charCodeAt(p + 1) : undefined);
      p += 2;
    } else {
      span = valLen(op);
      value = valValue(op);
      p++;
    }
    if (index < first + span) return patCount > value;
    first += span;
  }
  return undefined;
}
