/**
 * Reply encoding for RESP2 and RESP3.
 *
 * Handlers never build reply objects: they call methods of a RespWriter,
 * which appends the encoded bytes to one latin1 string (one JS char per
 * byte, so binary values pass through unchanged). The connection writes that
 * string to the socket once per event-loop turn (a client's own writer may
 * hold bytes as well: see RespWriter.bulkBytes). A writer with `discard` set
 * (used when a follower applies an entry nobody waits for) keeps nothing.
 *
 * RESP2 downgrades follow Redis (networking.c): maps become flat arrays,
 * sets become arrays, doubles become bulk strings, booleans become 1/0,
 * null becomes `$-1` (or `*-1` for a null array).
 */
import { latin1 } from '../util/latin1.js';

export type Proto = 2 | 3;

/** Bytes to reply with: `bytes[start, end)`, `view` a DataView of the same memory (keyspace's ByteSpan). */
export interface BytesRef {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly start: number;
  readonly end: number;
}

/** A byte writer's first buffer; it doubles as needed, and one grown past BYTES_KEEP is dropped at take(). */
const BYTES_INITIAL = 1024;
const BYTES_KEEP = 64 * 1024;
/** Strings up to this long are copied into the byte buffer by a loop; longer ones by Buffer#latin1Write (a call into C++). */
const COPY_LOOP_MAX = 32;

export class RespWriter {
  /**
   * What was written so far, as a latin1 string; a byte writer's bytes
   * (see `bytes`) come after it. Read `size` for the length of everything.
   */
  out = '';
  /** Told of every error reply written (INFO errorstats); set on the writers of a client's replies. */
  onError: ((text: string) => void) | undefined = undefined;
  /**
   * A byte writer (`bytes` true: a client's own writer for replies known at
   * once) copies values stored as bytes (bulkBytes: GET, MGET of a value in
   * the key table's arena) straight into its ByteBuf, no string made. Once
   * it holds bytes, everything written until take() goes there too, so the
   * output stays in order: `out`, then the bytes. take() makes one string
   * of both (one latin1Slice per flush, not one string per value). Other
   * writers make the value's string (latin1) and append it. One field
   * (`bb`), made on first use: a Slot per write costs no more to make.
   */
  private bb: ByteBuf | undefined = undefined;
  constructor(
    public proto: Proto = 2,
    public discard = false,
    readonly bytes = false,
  ) {}

  private put(s: string): void {
    if (this.discard) return;
    const bb = this.bb;
    if (bb === undefined || bb.len === 0) this.out += s;
    else putBytes(bb, s);
  }

  /** The byte buffer, with room for `n` more bytes. */
  private room(n: number): ByteBuf {
    const bb = this.bb;
    if (bb === undefined) return (this.bb = new ByteBuf(n));
    if (bb.len + n > bb.buf.length) bb.grow(n);
    return bb;
  }

  /** The length of everything written and not taken yet. */
  get size(): number {
    return this.bb === undefined ? this.out.length : this.out.length + this.bb.len;
  }

  /** Takes what was written so far. */
  take(): string {
    let s = this.out;
    this.out = '';
    const bb = this.bb;
    if (bb !== undefined && bb.len > 0) {
      s += latin1(bb.buf, 0, bb.len);
      bb.len = 0;
      if (bb.buf.length > BYTES_KEEP) this.bb = undefined;
    }
    return s;
  }

  ok(): void {
    this.put('+OK\r\n');
  }

  simple(s: string): void {
    this.put('+' + s + '\r\n');
  }

  /**
   * `text` is the whole error line without the leading '-', e.g. "ERR
   * syntax error". A CR or LF in it (from a client's argument echoed in the
   * text) would end the error line early and inject a line of its own into
   * the reply stream, so such a text is first cleaned like Redis cleans every
   * formatted error (see cleanErrorText); INFO errorstats sees the cleaned
   * text too, as in Redis.
   */
  error(text: string): void {
    if (text.indexOf('\n') !== -1 || text.indexOf('\r') !== -1) text = cleanErrorText(text);
    this.put('-' + text + '\r\n');
    if (this.onError !== undefined) this.onError(text);
  }

  int(n: number | bigint): void {
    this.put(':' + n + '\r\n');
  }

  /** A bulk string; `s` is latin1 (one char per byte). */
  bulk(s: string): void {
    this.put('$' + s.length + '\r\n' + s + '\r\n');
  }

  /**
   * A bulk string of the bytes `src.bytes[start, end)` (a value in the key
   * table's arena; `src.view` is a DataView of the same memory): copied
   * into a byte writer's buffer, no string made; any other writer appends
   * their latin1 string.
   */
  bulkBytes(src: BytesRef): void {
    if (this.discard) return;
    const { start, end } = src;
    if (!this.bytes) return this.bulk(latin1(src.bytes, start, end));
    const n = end - start;
    // '$', up to 10 digits, CRLF, the bytes, CRLF.
    const bb = this.room(n + 15);
    const v = bb.view;
    let p = bb.len;
    if (n < 10) {
      // "$<n>\r\n" in one store.
      v.setInt32(p, 0x0a0d0024 | ((48 + n) << 8), true);
      p += 4;
    } else if (n < 100) {
      v.setInt32(p, 0x0d000024 | ((48 + ((n / 10) | 0)) << 8) | ((48 + (n % 10)) << 16), true);
      v.setUint8(p + 4, 10);
      p += 5;
    } else {
      const d = '$' + n + '\r\n';
      for (let i = 0; i < d.length; i++) v.setUint8(p++, d.charCodeAt(i));
    }
    if (n <= COPY_LOOP_MAX) {
      // Four bytes a load and store (a byte loop costs ~30 instructions a byte in TurboFan's typed-array code).
      const sv = src.view;
      let i = start;
      for (; i + 4 <= end; i += 4, p += 4) v.setInt32(p, sv.getInt32(i, true), true);
      for (; i < end; i++) v.setUint8(p++, sv.getUint8(i));
    } else {
      bb.buf.set(src.bytes.subarray(start, end), p);
      p += n;
    }
    v.setUint16(p, 0x0a0d, true);
    bb.len = p + 2;
  }

  /** A bulk string from UTF-8 text (for INFO and other human text). */
  bulkText(s: string): void {
    this.bulk(Buffer.from(s, 'utf8').toString('latin1'));
  }

  /** Bulk string, or null when `s` is undefined/null. */
  bulkOrNil(s: string | undefined | null): void {
    if (s === undefined || s === null) this.nil();
    else this.bulk(s);
  }

  /** The null bulk string (RESP2 `$-1`, RESP3 `_`). */
  nil(): void {
    this.put(this.proto === 3 ? '_\r\n' : '$-1\r\n');
  }

  /** The null array (RESP2 `*-1`, RESP3 `_`), e.g. EXEC aborted by WATCH. */
  nilArray(): void {
    this.put(this.proto === 3 ? '_\r\n' : '*-1\r\n');
  }

  arrayHeader(n: number): void {
    this.put('*' + n + '\r\n');
  }

  /** A map of n pairs; in RESP2 a flat array of 2n elements. */
  mapHeader(n: number): void {
    this.put(this.proto === 3 ? '%' + n + '\r\n' : '*' + 2 * n + '\r\n');
  }

  setHeader(n: number): void {
    this.put(this.proto === 3 ? '~' + n + '\r\n' : '*' + n + '\r\n');
  }

  /** A push frame (RESP3 `>`); in RESP2 an array. */
  pushHeader(n: number): void {
    this.put(this.proto === 3 ? '>' + n + '\r\n' : '*' + n + '\r\n');
  }

  /** A double; `text` is already formatted the way Redis formats it. */
  double(text: string): void {
    if (this.proto === 3) this.put(',' + text + '\r\n');
    else this.bulk(text);
  }

  bool(b: boolean): void {
    if (this.proto === 3) this.put(b ? '#t\r\n' : '#f\r\n');
    else this.put(b ? ':1\r\n' : ':0\r\n');
  }

  /** Verbatim string (RESP3 `=`), a bulk string in RESP2. Used by INFO, CLIENT INFO… in RESP3. */
  verbatim(text: string, format = 'txt'): void {
    const bytes = Buffer.from(text, 'utf8').toString('latin1');
    if (this.proto === 3) this.put('=' + (bytes.length + 4) + '\r\n' + format + ':' + bytes + '\r\n');
    else this.bulk(bytes);
  }

  /** An array of bulk strings. */
  bulkArray(items: readonly string[]): void {
    let s = '*' + items.length + '\r\n';
    for (const it of items) s += '$' + it.length + '\r\n' + it + '\r\n';
    this.put(s);
  }

  /** Pre-encoded RESP bytes (used for replies captured at another protocol level). */
  raw(s: string): void {
    this.put(s);
  }
}

/** A byte writer's buffer: `buf[0, len)` written, `view` a DataView of `buf`. */
class ByteBuf {
  buf: Buffer;
  view: DataView;
  len = 0;

  constructor(n: number) {
    let size = BYTES_INITIAL;
    while (size < n) size *= 2;
    this.buf = Buffer.allocUnsafe(size);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, size);
  }

  /** Doubles the buffer until `n` more bytes fit. */
  grow(n: number): void {
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buf.copy(grown, 0, 0, this.len);
    this.buf = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, size);
  }
}

/** Appends `s` (latin1) to the byte buffer. */
function putBytes(bb: ByteBuf, s: string): void {
  const n = s.length;
  if (bb.len + n > bb.buf.length) bb.grow(n);
  const b = bb.buf;
  let p = bb.len;
  if (n <= COPY_LOOP_MAX) {
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
  } else {
    (b as unknown as { latin1Write(s: string, offset: number, length: number): number }).latin1Write(s, p, n);
    p += n;
  }
  bb.len = p;
}

/**
 * An error text made safe for one RESP line, as Redis 7.0's
 * addReplyErrorFormat does with every formatted error (networking.c
 * addReplyErrorFormatInternal): CR and LF at either end are removed
 * (`sdstrim(s, "\r\n")`), every other CR or LF becomes a space
 * (`sdsmapchars(s, "\r\n", "  ", 2)`). rejectCommandFormat (unknown command
 * or subcommand) only maps, but its texts never begin or end with a
 * client's bytes, so the result is the same.
 */
export function cleanErrorText(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isCRLF(text.charCodeAt(start))) start++;
  while (end > start && isCRLF(text.charCodeAt(end - 1))) end--;
  let out = '';
  let from = start;
  for (let i = start; i < end; i++) {
    if (isCRLF(text.charCodeAt(i))) {
      out += text.slice(from, i) + ' ';
      from = i + 1;
    }
  }
  return out + text.slice(from, end);
}

function isCRLF(c: number): boolean {
  return c === 13 || c === 10;
}

/** A writer that keeps nothing: for entries applied where no client waits. */
export const DISCARD = new RespWriter(2, true);
