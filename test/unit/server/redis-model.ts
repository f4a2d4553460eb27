/**
 * A deliberately plain model of how Redis 7.0 reads client requests
 * (networking.c processInputBuffer / processMultibulkBuffer /
 * processInlineBuffer, sds.c sdssplitargs, util.c string2ll), written
 * independently of src/server/request-parser.ts so tests can compare the two.
 *
 * Like Redis, it appends each chunk to a query buffer and processes the whole
 * buffer after every chunk (a read()), re-parsing an incomplete request from
 * its start. It is slow and simple on purpose: whole-buffer string searches,
 * BigInt numbers, a character-by-character port of sdssplitargs.
 */
import { constants as bufferConstants } from 'node:buffer';
import { ERR, protoExpectedDollar } from '../../../src/commands/errors.js';
import { PROTO_TOO_MANY_ARGS, PROTO_TOO_MANY_INLINE_ARGS } from '../../../src/server/request-parser.js';

export interface ModelLimits {
  maxBulkLen: number;
  maxInlineLen: number;
  maxArgs: number;
}

export interface ModelResult {
  cmds: string[][];
  error: string | null;
  /**
   * sdslen(c->querybuf) after the last chunk was processed (no error): the
   * bytes from the first one Redis has not consumed. An unfinished
   * multibulk request's complete arguments and its headers read so far are
   * consumed (they are in c->argv), the element in progress is not.
   */
  queryBuf: number;
}

const INT_MAX = 2147483647n;
const LLONG_MAX = 9223372036854775807n;
const LLONG_MIN = -9223372036854775808n;

/** string2ll: null when Redis's function fails. */
export function string2llModel(s: string): bigint | null {
  if (s.length === 0 || s.length >= 21) return null;
  if (!/^(0|-?[1-9][0-9]*)$/.test(s)) return null;
  const v = BigInt(s);
  if (v > LLONG_MAX || v < LLONG_MIN) return null;
  return v;
}

/** sdssplitargs, ported a character at a time; the line is a C string (ends at its length). */
export function sdssplitargsModel(line: string): string[] | null {
  const at = (i: number): string => (i < line.length ? line[i]! : '\0');
  const isspace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
  const ishex = (c: string): boolean => /^[0-9a-fA-F]$/.test(c);
  const out: string[] = [];
  let p = 0;
  for (;;) {
    while (at(p) !== '\0' && isspace(at(p))) p++;
    if (at(p) === '\0') return out;
    let inq = false;
    let insq = false;
    let done = false;
    let cur = '';
    while (!done) {
      const c = at(p);
      if (inq) {
        if (c === '\\' && at(p + 1) === 'x' && ishex(at(p + 2)) && ishex(at(p + 3))) {
          cur += String.fromCharCode(parseInt(at(p + 2) + at(p + 3), 16));
          p += 3;
        } else if (c === '\\' && at(p + 1) !== '\0') {
          p++;
          const e = at(p);
          cur += e === 'n' ? '\n' : e === 'r' ? '\r' : e === 't' ? '\t' : e === 'b' ? '\b' : e === 'a' ? '\x07' : e;
        } else if (c === '"') {
          if (at(p + 1) !== '\0' && !isspace(at(p + 1))) return null;
          done = true;
        } else if (c === '\0') {
          return null;
        } else {
          cur += c;
        }
      } else if (insq) {
        if (c === '\\' && at(p + 1) === "'") {
          p++;
          cur += "'";
        } else if (c === "'") {
          if (at(p + 1) !== '\0' && !isspace(at(p + 1))) return null;
          done = true;
        } else if (c === '\0') {
          return null;
        } else {
          cur += c;
        }
      } else if (c === ' ' || c === '\n' || c === '\r' || c === '\t' || c === '\0') {
        done = true;
      } else if (c === '"') {
        inq = true;
      } else if (c === "'") {
        insq = true;
      } else {
        cur += c;
      }
      if (at(p) !== '\0') p++;
    }
    out.push(cur);
  }
}

/** Feeds `chunks` one read at a time into a Redis-like query buffer. */
export function redisModel(chunks: readonly Buffer[], limits: ModelLimits): ModelResult {
  const cmds: string[][] = [];
  let q = ''; // latin1 query buffer, from the first unprocessed byte
  // raftis's documented clamp: a bulk must fit in a JS string.
  const maxBulk = BigInt(Math.min(limits.maxBulkLen, bufferConstants.MAX_STRING_LENGTH));
  const maxArgs = BigInt(limits.maxArgs);
  // strchr(): the first `ch`, or -1 when a NUL or the end comes first.
  const strchr = (from: number, ch: string): number => {
    for (let i = from; i < q.length; i++) {
      if (q[i] === ch) return i;
      if (q[i] === '\0') return -1;
    }
    return -1;
  };
  const fail = (text: string): ModelResult => ({ cmds, error: text, queryBuf: 0 });
  let queryBuf = 0;

  for (const chunk of chunks) {
    q += chunk.toString('latin1');
    // processInputBuffer: one request at a time while complete.
    for (;;) {
      queryBuf = q.length;
      if (q.length === 0) break;
      if (q[0] === '*') {
        const nl = strchr(0, '\r');
        if (nl < 0) {
          if (q.length > limits.maxInlineLen) return fail(ERR.protoTooBigMbulkCount);
          break;
        }
        if (nl > q.length - 2) break;
        const ll = string2llModel(q.slice(1, nl));
        if (ll === null || ll > INT_MAX) return fail(ERR.protoInvalidMultibulk);
        let pos = nl + 2;
        if (ll <= 0n) {
          q = q.slice(pos);
          continue;
        }
        if (ll > maxArgs) return fail(PROTO_TOO_MANY_ARGS); // raftis's limit
        const argv: string[] = [];
        let complete = true;
        for (let i = 0n; i < ll; i++) {
          const bl = strchr(pos, '\r');
          if (bl < 0) {
            if (q.length - pos > limits.maxInlineLen) return fail(ERR.protoTooBigBulkCount);
            complete = false;
            break;
          }
          if (bl - pos > q.length - pos - 2) {
            complete = false;
            break;
          }
          if (q[pos] !== '$') {
            const c = q[pos]!;
            return fail(protoExpectedDollar(c === '\r' || c === '\n' ? ' ' : c));
          }
          const len = string2llModel(q.slice(pos + 1, bl));
          if (len === null || len < 0n || len > maxBulk) return fail(ERR.protoInvalidBulk);
          pos = bl + 2;
          const n = Number(len);
          if (q.length - pos < n + 2) {
            complete = false;
            break;
          }
          argv.push(q.slice(pos, pos + n));
          pos += n + 2;
        }
        if (!complete) {
          queryBuf = q.length - pos;
          break;
        }
        cmds.push(argv);
        q = q.slice(pos);
      } else {
        const nl = strchr(0, '\n');
        if (nl < 0) {
          if (q.length > limits.maxInlineLen) return fail(ERR.protoTooBigInline);
          break;
        }
        let end = nl;
        if (end > 0 && q[end - 1] === '\r') end--;
        const argv = sdssplitargsModel(q.slice(0, end));
        if (argv === null) return fail(ERR.protoUnbalancedQuotes);
        q = q.slice(nl + 1);
        if (argv.length > limits.maxArgs) return fail(PROTO_TOO_MANY_INLINE_ARGS); // raftis's limit
        if (argv.length > 0) cmds.push(argv);
      }
    }
  }
  return { cmds, error: null, queryBuf };
}
