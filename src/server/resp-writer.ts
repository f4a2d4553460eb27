/**
 * Reply encoding for RESP2 and RESP3.
 *
 * Handlers never build reply objects: they call methods of a RespWriter,
 * which appends the encoded bytes to one latin1 string (one JS char per
 * byte, so binary values pass through unchanged). The connection writes that
 * string to the socket once per event-loop turn. A writer with `discard` set
 * (used when a follower applies an entry nobody waits for) keeps nothing.
 *
 * RESP2 downgrades follow Redis (networking.c): maps become flat arrays,
 * sets become arrays, doubles become bulk strings, booleans become 1/0,
 * null becomes `$-1` (or `*-1` for a null array).
 */
export type Proto = 2 | 3;

export class RespWriter {
  out = '';
  /** Told of every error reply written (INFO errorstats); set on the writers of a client's replies. */
  onError: ((text: string) => void) | undefined = undefined;
  constructor(
    public proto: Proto = 2,
    public discard = false,
  ) {}

  private put(s: string): void {
    if (!this.discard) this.out += s;
  }

  /** Takes what was written so far. */
  take(): string {
    const s = this.out;
    this.out = '';
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
