/**
 * A cursor over a frame body that checks every read against the body's end,
 * so that a hostile length can neither read out of bounds nor make us allocate:
 * every variable-size field is a view into the body, after its length has
 * been compared with what is left.
 */
// The module's binding, not the global: globalThis.Buffer is an accessor, a getter call on every use in hot code.
import { Buffer } from 'node:buffer';
import { FrameError } from './errors.js';

/** The largest value a varint may carry (JavaScript numbers are exact up to here). */
export const MAX_VARINT = Number.MAX_SAFE_INTEGER;
/** 8 groups of 7 bits hold 56 bits, enough for 2^53 − 1. */
export const MAX_VARINT_BYTES = 8;

export class BodyReader {
  pos: number;
  /**
   * The body's memory, read once: a view is made from it with Buffer.from
   * rather than Buffer#subarray, which reads `buffer` and `byteOffset`
   * through their getters (a C++ builtin for `buffer`) on every call — one
   * view per entry of an append (bench/results/callgrind-follower.md).
   * Read at the first view, so a body without byte fields never reads them.
   */
  private memory: ArrayBuffer | undefined = undefined;
  private base = 0;

  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    if (start < 0 || end > buf.length || start > end) throw new RangeError('BodyReader: bad bounds');
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  u8(what: string): number {
    if (this.pos >= this.end) throw new FrameError('truncated', `${what}: body ends at byte ${this.pos}`);
    return this.buf[this.pos++]!;
  }

  /** Unsigned LEB128, at most 8 bytes, value ≤ 2^53 − 1. */
  varint(what: string): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.pos >= this.end) throw new FrameError('truncated', `${what}: varint cut at byte ${this.pos}`);
      const b = this.buf[this.pos++]!;
      // The 8th group holds bits 49..55; only bits 49..52 may be set and it must be the last.
      if (i === MAX_VARINT_BYTES - 1 && b > 0x0f) throw new FrameError('value', `${what}: varint above 2^53-1`);
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 0x80;
    }
    /* c8 ignore next */
    throw new FrameError('value', `${what}: varint too long`);
  }

  /** A varint that is then used as a count of items each at least `minItemBytes` long. */
  count(what: string, minItemBytes: number, max = Infinity): number {
    const n = this.varint(what);
    if (n > max) throw new FrameError('value', `${what}: ${n} is above the limit ${max}`);
    if (n * minItemBytes > this.remaining) {
      throw new FrameError('truncated', `${what}: ${n} items cannot fit in the ${this.remaining} bytes left`);
    }
    return n;
  }

  /** A view of the next `len` bytes (no copy). */
  bytes(len: number, what: string): Buffer {
    if (len > this.remaining) {
      throw new FrameError('truncated', `${what}: length ${len} exceeds the ${this.remaining} bytes left`);
    }
    let memory = this.memory;
    if (memory === undefined) {
      memory = this.memory = this.buf.buffer as ArrayBuffer;
      this.base = this.buf.byteOffset;
    }
    const b = Buffer.from(memory, this.base + this.pos, len);
    this.pos += len;
    return b;
  }

  /** A varint length followed by that many bytes. */
  lengthPrefixed(what: string, max = Infinity): Buffer {
    const len = this.varint(`${what} length`);
    if (len > max) throw new FrameError('value', `${what}: length ${len} is above the limit ${max}`);
    return this.bytes(len, what);
  }

  /** A length-prefixed UTF-8 string; invalid UTF-8 is an error rather than U+FFFD. */
  utf8(what: string, max = Infinity): string {
    const b = this.lengthPrefixed(what, max);
    try {
      return utf8Decoder.decode(b);
    } catch {
      throw new FrameError('value', `${what}: invalid UTF-8`);
    }
  }

  expectEnd(what: string): void {
    if (this.pos !== this.end) throw new FrameError('trailing', `${what}: ${this.end - this.pos} bytes after the last field`);
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
