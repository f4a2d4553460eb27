/**
 * Client request parser: bytes from a client socket in, argument vectors out.
 *
 * Two request forms, chosen like Redis's processInputBuffer by the first byte
 * of each request:
 *  - `*` starts a multibulk request (`*N\r\n` then N × `$L\r\n<L bytes>\r\n`).
 *    These are parsed by the `redis-parser` package. redis-parser does no
 *    validation, has no limits and preallocates `new Array(N)`, so a guard
 *    (below) walks the request structure first, incrementally across chunks,
 *    applies Redis 7.0's rules and limits (processMultibulkBuffer in
 *    networking.c) and hands redis-parser only complete, valid requests: a
 *    run of whole requests from one chunk (one execute() call for all of
 *    them), or, for a request that spanned chunks, the request's bytes joined
 *    into one Buffer. redis-parser therefore never keeps state between calls,
 *    never uses its shared buffer pool and never sees a length that has not
 *    arrived.
 *  - anything else is an inline command (processInlineBuffer): a line ending
 *    at `\n` (one `\r` before it is dropped), split like sdssplitargs.
 *
 * Redis details reproduced on purpose:
 *  - A header line ends at the first `\r`; the byte after it is skipped
 *    without being checked, as is the 2-byte terminator after bulk data.
 *  - Redis looks for line ends with strchr(), which stops at a NUL byte: a
 *    NUL before the `\r` of a header line (or before the `\n` of an inline
 *    line) means the line never ends, and the request fails only when the
 *    buffered bytes of that line exceed 64 KB ("too big ... string" /
 *    "too big inline request"). Such bytes are counted, not kept.
 *  - The 64 KB checks apply to what is buffered when no line end has arrived;
 *    a longer line whose end arrives in the same chunk is judged by its
 *    content, like Redis does with what one read() brought.
 *  - Numbers follow string2ll: no '+', no leading zeros, no "-0", 64-bit.
 *    `*0` and `*-N` (N up to 2^63) are skipped silently.
 *  - `expected '$', got 'c'`: c is the raw byte (latin1), with \r and \n
 *    shown as a space like addReplyErrorFormat does.
 *  - With the optional handlers.authRequired() hook: Redis 7.0.15's limits
 *    for clients that have not authenticated yet (count > 10, bulk > 16384).
 *
 * Limits not in Redis 7.0:
 *  - maxArgs: a multibulk count above it fails with
 *    "ERR Protocol error: invalid multibulk length", the reply Redis 2.6–5.0
 *    gave for counts above their fixed 1024*1024 limit; an inline line with
 *    more arguments fails with PROTO_TOO_MANY_INLINE_ARGS (new text).
 *  - A bulk longer than V8's maximum string length (buffer.constants.
 *    MAX_STRING_LENGTH, 2^29-24 on 64-bit Node 20, 24 bytes below the default
 *    proto-max-bulk-len of 512 MB) cannot become a string: it fails with
 *    "invalid bulk length" as if proto-max-bulk-len were that maximum.
 *
 * Memory: bytes of an incomplete request are copied out of the caller's
 * chunk (feed() never keeps a reference to `chunk`, which may be reused), so
 * pendingBytes is exactly what arrived (0 for a "stuck" line, whose bytes are
 * only counted); nothing is ever sized from a length header. Once complete,
 * a request that spanned chunks is joined into one Buffer for redis-parser
 * (so briefly about twice its size, plus the strings). The connection applies
 * client-query-buffer-limit to queryBufferBytes, what Redis's query buffer
 * would hold: the element in progress, not the complete arguments before it
 * (Redis keeps those in the client's argv, outside that limit, as raftis
 * keeps them in pend).
 *
 * Handlers run synchronously inside feed(). A handler that throws stops the
 * parser for good and the exception leaves feed(); calling feed() from a
 * handler throws.
 */
import { constants as bufferConstants } from 'node:buffer';
import RedisParser from 'redis-parser';
import { PROTOCOL_ERR as ERR, protoExpectedDollar } from './protocol-errors.js';
import { latin1, parseLL, splitInlineArgs } from './inline.js';
import { commandName } from './command-names.js';
import { latin1Key } from '../util/key-hash.js';

export interface ParserLimits {
  /**
   * proto-max-bulk-len, default 512*1024*1024. Read at every bulk header
   * from the object given to the constructor, so a caller that keeps that
   * object can change the limit for a parser already running (CONFIG SET
   * proto-max-bulk-len applies to every connection at once, as in Redis).
   */
  maxBulkLen: number;
  /** PROTO_INLINE_MAX_SIZE: inline line / header line without its end, default 64*1024. */
  maxInlineLen: number;
  /** Arguments in one request, default 1024*1024. */
  maxArgs: number;
}

export interface ParserHandlers {
  /** One complete command. Strings are latin1 (one JS char per byte: binary safe), copies that do not share memory with the socket's chunks. */
  onCommand(argv: string[]): void;
  /**
   * Optional: a whole `SET key value` request (3 arguments, the name SET in
   * any case) read from this parser's own scan, offered as bytes before any
   * string is made: buf[nameAt, nameAt + 3) is the name, [keyAt, keyEnd)
   * the key, [valueAt, valueEnd) the value, valid only during the call.
   * Returns true when it took the request; false, and the request comes to
   * onCommand as argv. Requests redis-parser or the inline reader delivers
   * (spanning chunks, more than DIRECT_MAX_ARGS arguments…) always come as argv.
   */
  onPlainSet?(buf: Buffer, nameAt: number, keyAt: number, keyEnd: number, valueAt: number, valueEnd: number): boolean;
  /** A protocol error: `text` is the whole error without '-' or CRLF, e.g. "ERR Protocol error: invalid bulk length". The parser stops: later feed() calls are ignored. The caller replies with the error and closes the connection after flushing. Commands complete before the error in the same chunk are delivered first, in order. */
  onProtocolError(text: string): void;
  /**
   * Optional: true while the connection still has to authenticate
   * (requirepass / ACL). Redis 7.0.15 then refuses a multibulk count above
   * 10 ("unauthenticated multibulk length") and a bulk length above 16384
   * ("unauthenticated bulk length"). Asked only for such headers, after every
   * command before them has been delivered (so an AUTH just before counts).
   */
  authRequired?(): boolean;
}

export const DEFAULT_PARSER_LIMITS: Readonly<ParserLimits> = Object.freeze({
  maxBulkLen: 512 * 1024 * 1024,
  maxInlineLen: 64 * 1024,
  maxArgs: 1024 * 1024,
});

/** Multibulk count above maxArgs: Redis 2.6–5.0's reply for counts above 1024*1024. */
export const PROTO_TOO_MANY_ARGS = ERR.protoInvalidMultibulk;
/** Inline line with more than maxArgs arguments (raftis's own text; Redis has no such limit). */
export const PROTO_TOO_MANY_INLINE_ARGS = 'ERR Protocol error: too many arguments in inline request';
/** Redis 7.0.15 networking.c; not in errors.ts. */
export const PROTO_UNAUTH_MULTIBULK = 'ERR Protocol error: unauthenticated multibulk length';
export const PROTO_UNAUTH_BULK = 'ERR Protocol error: unauthenticated bulk length';
/** Limits that apply while authRequired() is true (networking.c). */
const UNAUTH_MAX_ARGS = 10;
const UNAUTH_MAX_BULK = 16384;

/** Never expected: redis-parser rejected bytes the guard accepted. */
export const PROTO_INTERNAL = 'ERR Protocol error: invalid request';

const INT_MAX = 2147483647;

/**
 * A whole plain request (plainRequest) of at most this many arguments is
 * sliced into its strings by the scan itself, which has just found where
 * each argument is, instead of being handed to redis-parser to be read again.
 */
const DIRECT_MAX_ARGS = 64;

// States of the request in progress.
const S_START = 0; // between requests
const S_MBULK_LINE = 1; // reading `*N` up to its \r
const S_BULK_LINE = 2; // reading `$L` up to its \r
const S_BULK_DATA = 3; // skipping L bytes + 2
const S_INLINE = 4; // reading an inline line up to \n

/** Bytes of a header line kept while it spans chunks: type byte + 20 chars + 1 is enough for string2ll. */
const HDR_CAP = 32;

/**
 * The bytes handed to redis-parser. Asked for strings (returnBuffers false),
 * redis-parser makes each bulk string with `buffer.toString('utf8', start,
 * end)`; this view answers that call with latin1 (one char per byte, binary
 * safe, a copy), so the arguments come out as the strings raftis uses with
 * no Buffer per argument and no second pass: 383 → 246 ns per SET command in
 * bench/resp-parser.ts. redis-parser uses nothing else of it but indexing and
 * length, since it only ever gets whole requests (it never concatenates).
 */
class Latin1Chunk extends Uint8Array {
  override toString(_encoding?: string, start = 0, end = this.length): string {
    return latin1(this, start, end);
  }
}

interface Handlers {
  onCommand(argv: string[]): void;
  onPlainSet?(buf: Buffer, nameAt: number, keyAt: number, keyEnd: number, valueAt: number, valueEnd: number): boolean;
  onProtocolError(text: string): void;
  authRequired?(): boolean;
}

const MAX_STRING_LENGTH = bufferConstants.MAX_STRING_LENGTH;

export class RequestParser {
  private readonly handlers: Handlers;
  /** Holds maxBulkLen, read at each use (see ParserLimits). */
  private readonly bulkLimit: { readonly maxBulkLen: number };
  private readonly maxInlineLen: number;
  private readonly maxArgs: number;
  /** Headers above these need the authRequired() question (Infinity without the hook). */
  private readonly askArgs: number;
  private readonly askBulk: number;
  private readonly rp: RedisParser;

  private stopped = false;
  private busy = false;

  private st = S_START;
  /** Copies of the earlier parts of the incomplete request (none while its line is "stuck"). */
  private pend: Buffer[] = [];
  private pendLen = 0;
  /** Bulk arguments still to come in the multibulk request. */
  private argsLeft = 0;
  /** Bytes of bulk data + terminator still to skip, of dataTotal. */
  private dataLeft = 0;
  private dataTotal = 0;
  /** Bytes of the current header/inline line seen so far, its `\r` excluded. */
  private lineLen = 0;
  /** The header line's `\r` was the last byte seen: the next byte ends the line. */
  private sawCR = false;
  /** A NUL came before the line's end: Redis never finds the end (strchr). */
  private stuck = false;
  /** First HDR_CAP bytes of a header line that spans chunks. */
  private readonly hdr = Buffer.alloc(HDR_CAP);
  /** Results of headerLine(): the line's first byte and its number (NaN if invalid). */
  private lineFirst = 0;
  private lineNum = 0;
  /** Result of inlineLine(). */
  private inlineArgs: string[] | null = null;
  /** Result of plainRequest(): its arguments' [start, end) in the chunk, when it has at most DIRECT_MAX_ARGS (argCount; else 0). */
  private readonly argAt = new Int32Array(2 * DIRECT_MAX_ARGS);
  private argCount = 0;

  constructor(handlers: ParserHandlers, limits?: Partial<ParserLimits>) {
    this.handlers = handlers;
    const l = { ...DEFAULT_PARSER_LIMITS, ...limits };
    this.bulkLimit = limits !== undefined && limits.maxBulkLen !== undefined ? (limits as { maxBulkLen: number }) : DEFAULT_PARSER_LIMITS;
    this.maxInlineLen = l.maxInlineLen;
    this.maxArgs = l.maxArgs;
    const ask = typeof handlers.authRequired === 'function';
    this.askArgs = ask ? UNAUTH_MAX_ARGS : Infinity;
    this.askBulk = ask ? UNAUTH_MAX_BULK : Infinity;
    this.rp = new RedisParser({
      // Strings, through Latin1Chunk's toString: see there.
      returnBuffers: false,
      returnReply: (reply: unknown) => this.onReply(reply),
      returnError: () => this.internalError(),
      returnFatalError: () => this.internalError(),
    });
  }

  /** Bytes buffered for an incomplete request (for memory accounting / tests). */
  get pendingBytes(): number {
    return this.pendLen;
  }

  /**
   * What Redis's query buffer would hold now, once it had parsed what
   * arrived (the measure client-query-buffer-limit applies to): the bytes of
   * the element in progress only. A header or inline line counts from its
   * first byte (a "stuck" line's bytes are counted though not kept), a bulk
   * from the first byte of its data (its `$<len>` line has been consumed),
   * and arguments already complete in an unfinished request do not count
   * (Redis has moved them to the client's argv). 0 between requests.
   */
  get queryBufferBytes(): number {
    switch (this.st) {
      case S_START:
        return 0;
      case S_BULK_DATA:
        return this.dataTotal - this.dataLeft;
      default:
        return this.lineLen + (this.sawCR ? 1 : 0);
    }
  }

  /** Stops for good, dropping whatever was buffered: later feed() calls are ignored (the connection is being closed). */
  stop(): void {
    this.stopped = true;
    this.pend = [];
    this.pendLen = 0;
  }

  /** Parses chunk[0, end) (default: all of it). */
  feed(chunk: Buffer, end: number = chunk.length): void {
    if (this.stopped || end === 0) return;
    if (this.busy) throw new Error('RequestParser.feed() called from one of its handlers');
    this.busy = true;
    try {
      this.scan(chunk, end);
    } catch (e) {
      // A handler threw (the parser itself does not): the position in the
      // stream is lost, so stop for good and let the caller see the error.
      this.stop();
      throw e;
    } finally {
      this.busy = false;
    }
  }

  // ---------------------------------------------------------------------------

  /** A request redis-parser returned: an array of latin1 strings (copies, see Latin1Chunk). */
  private onReply(reply: unknown): void {
    if (this.stopped) return;
    this.handlers.onCommand(reply as string[]);
  }

  private internalError(): void {
    if (this.stopped) return;
    this.stop();
    this.handlers.onProtocolError(PROTO_INTERNAL);
  }

  private resetLine(): void {
    this.lineLen = 0;
    this.sawCR = false;
    this.stuck = false;
  }

  /** Hands buf[start, end) (whole valid multibulk requests) to redis-parser. */
  private execute(buf: Buffer, start: number, end: number): void {
    this.rp.execute(new Latin1Chunk(buf.buffer as ArrayBuffer, buf.byteOffset + start, end - start) as unknown as Buffer);
  }

  /** The earlier parts of the request joined with buf[0, end). */
  private joinPending(buf: Buffer, end: number): Buffer {
    const parts = this.pend;
    parts.push(buf.subarray(0, end));
    const whole = Buffer.concat(parts, this.pendLen + end);
    this.pend = [];
    this.pendLen = 0;
    return whole;
  }

  private scan(buf: Buffer, n: number): void {
    let pos = 0;
    /** Start in buf of whole multibulk requests not yet given to redis-parser, or -1. */
    let run = -1;
    /** Start in buf of the request in progress; -1 if it began in an earlier chunk. */
    let req = this.st === S_START ? 0 : -1;
    let st = this.st;
    let argsLeft = this.argsLeft;

    for (;;) {
      switch (st) {
        case S_START: {
          if (pos >= n) {
            if (run >= 0) this.execute(buf, run, n);
            this.st = S_START;
            return;
          }
          req = pos;
          if (buf[pos] !== 42 /* * */) {
            st = S_INLINE;
            break;
          }
          const end = this.plainRequest(buf, pos, n);
          if (end > 0) {
            if (this.argCount > 0) {
              // Delivered here, in order: whole requests before it go to redis-parser first.
              if (run >= 0) {
                this.execute(buf, run, pos);
                run = -1;
                if (this.stopped) return;
              }
              if (this.argCount !== 3 || !this.plainSet(buf)) this.handlers.onCommand(this.directArgs(buf));
              if (this.stopped) return;
            } else if (run < 0) run = pos;
            pos = end;
            break;
          }
          st = S_MBULK_LINE;
          break;
        }

        case S_MBULK_LINE: {
          const next = this.headerLine(buf, pos, n);
          if (next < 0) {
            pos = n;
            break;
          }
          pos = next;
          const ll = this.lineNum;
          if (!(ll <= INT_MAX)) return this.fail(buf, run, req, ERR.protoInvalidMultibulk);
          if (ll > this.askArgs) {
            // Deliver what came before (an AUTH, maybe), then ask.
            if (run >= 0 && req >= 0) this.execute(buf, run, req);
            run = -1;
            if (this.stopped) return;
            if (this.handlers.authRequired!()) return this.fail(buf, -1, -1, PROTO_UNAUTH_MULTIBULK);
          }
          if (ll <= 0) {
            // `*0`, `*-1`: nothing to run (Redis resets the client).
            if (run >= 0) this.execute(buf, run, req);
            run = -1;
            this.pend = [];
            this.pendLen = 0;
            st = S_START;
            break;
          }
          if (ll > this.maxArgs) return this.fail(buf, run, req, PROTO_TOO_MANY_ARGS);
          argsLeft = ll;
          st = S_BULK_LINE;
          break;
        }

        case S_BULK_LINE: {
          const next = this.headerLine(buf, pos, n);
          if (next < 0) {
            pos = n;
            break;
          }
          pos = next;
          const first = this.lineFirst;
          if (first !== 36 /* $ */) {
            const shown = first === 13 || first === 10 ? ' ' : String.fromCharCode(first);
            return this.fail(buf, run, req, protoExpectedDollar(shown));
          }
          const ll = this.lineNum;
          if (!(ll >= 0 && ll <= this.bulkLimit.maxBulkLen && ll <= MAX_STRING_LENGTH)) return this.fail(buf, run, req, ERR.protoInvalidBulk);
          if (ll > this.askBulk) {
            if (run >= 0 && req >= 0) this.execute(buf, run, req);
            run = -1;
            if (this.stopped) return;
            if (this.handlers.authRequired!()) return this.fail(buf, -1, -1, PROTO_UNAUTH_BULK);
          }
          this.dataLeft = ll + 2;
          this.dataTotal = ll + 2;
          st = S_BULK_DATA;
          break;
        }

        case S_BULK_DATA: {
          const left = this.dataLeft;
          if (n - pos < left) {
            this.dataLeft = left - (n - pos);
            pos = n;
            break;
          }
          pos += left;
          this.dataLeft = 0;
          if (--argsLeft > 0) {
            st = S_BULK_LINE;
            break;
          }
          // The request is complete.
          if (req >= 0) {
            if (run < 0) run = req;
          } else {
            const joined = this.joinPending(buf, pos);
            this.execute(joined, 0, joined.length);
            if (this.stopped) return;
          }
          st = S_START;
          break;
        }

        case S_INLINE: {
          const next = this.inlineLine(buf, pos, n, req);
          if (next < 0) {
            pos = n;
            break;
          }
          pos = next;
          if (run >= 0 && req >= 0) this.execute(buf, run, req);
          run = -1;
          if (this.stopped) return;
          const argv = this.inlineArgs;
          this.inlineArgs = null;
          if (argv === null) return this.fail(buf, -1, -1, ERR.protoUnbalancedQuotes);
          if (argv.length > this.maxArgs) return this.fail(buf, -1, -1, PROTO_TOO_MANY_INLINE_ARGS);
          if (argv.length > 0) {
            this.handlers.onCommand(argv);
            if (this.stopped) return;
          }
          st = S_START;
          break;
        }
      }

      if (pos >= n && st !== S_START) {
        // End of the chunk inside a request.
        if (run >= 0) this.execute(buf, run, req >= 0 ? req : n);
        if (this.stopped) return;
        if (
          (st === S_MBULK_LINE || st === S_BULK_LINE || st === S_INLINE) &&
          !this.sawCR &&
          this.lineLen > this.maxInlineLen
        ) {
          const text =
            st === S_MBULK_LINE ? ERR.protoTooBigMbulkCount : st === S_BULK_LINE ? ERR.protoTooBigBulkCount : ERR.protoTooBigInline;
          return this.fail(buf, -1, -1, text);
        }
        if (this.stuck) {
          // The bytes can never form a request: count them (lineLen), keep none.
          this.pend = [];
          this.pendLen = 0;
        } else {
          const from = req >= 0 ? req : 0;
          if (from < n) {
            this.pend.push(Buffer.from(buf.subarray(from, n)));
            this.pendLen += n - from;
          }
        }
        this.st = st;
        this.argsLeft = argsLeft;
        return;
      }
    }
  }

  /**
   * Fast path for the usual request: whole in buf[start, n), headers of 1 to
   * 9 plain digits (a valid string2ll without sign or leading zero, or "0"
   * for a bulk) within the limits. Returns the index after the request, or
   * -1 for anything else, which the state machine then reads from `start`
   * (nothing here changes the parser's state).
   */
  private plainRequest(buf: Buffer, start: number, n: number): number {
    let p = start + 1;
    let c = p < n ? buf[p]! : 0;
    if (c < 49 || c > 57) return -1;
    let count = c - 48;
    for (;;) {
      if (++p >= n) return -1;
      c = buf[p]!;
      if (c === 13) break;
      if (c < 48 || c > 57 || p - start > 9) return -1;
      count = count * 10 + (c - 48);
    }
    if (count > this.maxArgs || count > this.askArgs) return -1;
    p += 2;
    const maxBulk = Math.min(this.bulkLimit.maxBulkLen, MAX_STRING_LENGTH, this.askBulk);
    const direct = count <= DIRECT_MAX_ARGS;
    const at = this.argAt;
    this.argCount = 0;
    for (let i = 0; i < count; i++) {
      // `$` + length + \r + one byte
      if (p + 3 >= n || buf[p] !== 36) return -1;
      const s = ++p;
      c = buf[p]!;
      let len: number;
      if (c === 48) {
        len = 0;
        c = buf[++p]!;
        if (c !== 13) return -1;
      } else {
        if (c < 49 || c > 57) return -1;
        len = c - 48;
        for (;;) {
          if (++p >= n) return -1;
          c = buf[p]!;
          if (c === 13) break;
          if (c < 48 || c > 57 || p - s > 9) return -1;
          len = len * 10 + (c - 48);
        }
      }
      if (len > maxBulk) return -1;
      // p is at the header's \r: the data starts after its \n.
      if (direct) {
        at[2 * i] = p + 2;
        at[2 * i + 1] = p + 2 + len;
      }
      p += 2 + len + 2;
      if (p > n) return -1;
    }
    if (direct) this.argCount = count;
    return p;
  }

  /**
   * The arguments plainRequest found (argAt, argCount), as latin1 strings
   * (copies). A common command name is a string literal (command-names.ts);
   * the first argument after it, the key of most commands, is hashed in
   * the same read of its bytes for the key table (util/key-hash.ts latin1Key).
   */
  private directArgs(buf: Buffer): string[] {
    const n = this.argCount;
    const at = this.argAt;
    const argv = new Array<string>(n);
    argv[0] = commandName(buf, at[0]!, at[1]!) ?? latin1(buf, at[0]!, at[1]!);
    if (n > 1) argv[1] = latin1Key(buf, at[2]!, at[3]!);
    for (let i = 2; i < n; i++) argv[i] = latin1(buf, at[2 * i]!, at[2 * i + 1]!);
    return argv;
  }

  /**
   * The request plainRequest found (3 arguments) offered to onPlainSet when
   * it is `SET key value` (the name's bytes ORed with 0x20 are "set": only
   * S/s, E/e, T/t give those); true when the handler took it.
   */
  private plainSet(buf: Buffer): boolean {
    const at = this.argAt;
    const name = at[0]!;
    if (at[1]! - name !== 3 || (buf[name]! | 0x20) !== 0x73 || (buf[name + 1]! | 0x20) !== 0x65 || (buf[name + 2]! | 0x20) !== 0x74) return false;
    const h = this.handlers;
    return h.onPlainSet !== undefined && h.onPlainSet(buf, name, at[2]!, at[3]!, at[4]!, at[5]!);
  }

  /** Delivers buf[run, req) if any, then the protocol error, and stops. */
  private fail(buf: Buffer, run: number, req: number, text: string): void {
    if (run >= 0 && req >= 0) this.execute(buf, run, req);
    if (this.stopped) return;
    this.stop();
    this.handlers.onProtocolError(text);
  }

  /**
   * Reads a header line (`*N` or `$L`) beginning at buf[from], or continuing
   * one begun in an earlier chunk. Returns the index after the line (its `\r`
   * and the byte after it) and sets lineFirst / lineNum, or returns -1 when
   * the line has not ended within buf (its state is kept in lineLen, hdr,
   * sawCR, stuck).
   */
  private headerLine(buf: Buffer, from: number, n: number): number {
    if (this.lineLen === 0 && !this.sawCR) {
      // A fresh line starting at `from`.
      let p = from;
      while (p < n) {
        const b = buf[p]!;
        if (b === 13) {
          if (p + 1 < n) {
            this.lineFirst = p > from ? buf[from]! : 13;
            this.lineNum = parseLL(buf, from + 1, p);
            return p + 2;
          }
          this.sawCR = true;
          break;
        }
        if (b === 0) {
          this.stuck = true;
          this.lineLen = n - from;
          return -1;
        }
        p++;
      }
      this.lineLen = p - from;
      buf.copy(this.hdr, 0, from, Math.min(p, from + HDR_CAP));
      return -1;
    }

    // A line begun in an earlier chunk (from is 0).
    if (this.stuck) {
      this.lineLen += n - from;
      return -1;
    }
    let p = from;
    if (!this.sawCR) {
      while (p < n) {
        const b = buf[p]!;
        if (b === 13) break;
        if (b === 0) {
          this.stuck = true;
          this.lineLen += n - from;
          return -1;
        }
        p++;
      }
      if (this.lineLen < HDR_CAP) buf.copy(this.hdr, this.lineLen, from, Math.min(p, from + HDR_CAP - this.lineLen));
      this.lineLen += p - from;
      if (p >= n) return -1;
      if (p + 1 >= n) {
        this.sawCR = true;
        return -1;
      }
      p += 2;
    } else {
      if (p >= n) return -1;
      p += 1;
    }
    const len = this.lineLen;
    this.lineFirst = len > 0 ? this.hdr[0]! : 13;
    this.lineNum = len <= HDR_CAP ? parseLL(this.hdr, 1, len) : NaN;
    this.resetLine();
    return p;
  }

  /**
   * Reads an inline line beginning at buf[from] (req >= 0) or continuing one
   * begun in an earlier chunk (its bytes are in pend). Returns the index
   * after its `\n` and sets inlineArgs (null: unbalanced quotes), or -1 when
   * the line has not ended within buf.
   */
  private inlineLine(buf: Buffer, from: number, n: number, req: number): number {
    if (this.stuck) {
      this.lineLen += n - from;
      return -1;
    }
    let p = from;
    while (p < n) {
      const b = buf[p]!;
      if (b === 10) break;
      if (b === 0) {
        this.stuck = true;
        this.lineLen += n - from;
        return -1;
      }
      p++;
    }
    if (p >= n) {
      this.lineLen += n - from;
      return -1;
    }
    if (req >= 0) {
      let end = p;
      if (end > from && buf[end - 1] === 13) end--;
      this.inlineArgs = splitInlineArgs(buf, from, end);
    } else {
      const line = this.joinPending(buf, p);
      let end = line.length;
      if (end > 0 && line[end - 1] === 13) end--;
      this.inlineArgs = splitInlineArgs(line, 0, end);
    }
    this.resetLine();
    return p + 1;
  }
}
