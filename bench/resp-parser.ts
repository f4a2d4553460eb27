/**
 * Micro benchmark of the client request parser (src/server/request-parser.ts).
 *
 * Run:
 *   npx tsc bench/resp-parser.ts --outDir node_modules/.cache/raftis-bench --rootDir . \
 *     --module nodenext --moduleResolution nodenext --target es2022 --esModuleInterop --skipLibCheck \
 *   && node node_modules/.cache/raftis-bench/bench/resp-parser.js [commands]
 *
 * Workload: `SET key:NNNNNN value` commands (default 1M) as RESP multibulk,
 * 16 commands per chunk (what redis-benchmark -P 16 sends), plus variants.
 * Each variant is run 5 times; the best run is reported (ns per command).
 * BENCH_EXTRA=1 adds redis-parser alone on the other chunkings.
 *
 * Variants, to see where the time goes:
 *  - RequestParser: the real thing (guard + redis-parser + latin1 strings).
 *  - redis-parser alone (+ latin1 strings): no guard, no validation.
 *  - redis-parser alone, Buffers only: no string conversion.
 *  - guard scan only: the structure walk the guard does, nothing emitted.
 *  - direct: the guard's walk that slices arguments itself (what the parser
 *    would cost without redis-parser), for comparison only.
 */
import RedisParser from 'redis-parser';
import { RequestParser } from '../src/server/request-parser.js';
import { latin1 } from '../src/server/inline.js';

const N = Number(process.argv[2] ?? 1_000_000);
const PER_CHUNK = 16;

function resp(args: string[]): string {
  let s = '*' + args.length + '\r\n';
  for (const a of args) s += '$' + a.length + '\r\n' + a + '\r\n';
  return s;
}

function makeChunks(perChunk: number, make: (i: number) => string): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < N; i += perChunk) {
    let s = '';
    for (let j = i; j < Math.min(N, i + perChunk); j++) s += make(j);
    chunks.push(Buffer.from(s, 'latin1'));
  }
  return chunks;
}

function rechunk(chunks: Buffer[], size: number): Buffer[] {
  const all = Buffer.concat(chunks);
  const out: Buffer[] = [];
  for (let i = 0; i < all.length; i += size) out.push(all.subarray(i, i + size));
  return out;
}

function measure(name: string, fn: () => number): void {
  let best = Infinity;
  let count = 0;
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    count = fn();
    const ns = Number(process.hrtime.bigint() - t0);
    best = Math.min(best, ns);
  }
  if (count !== N) throw new Error(`${name}: ${count} commands, expected ${N}`);
  const perCmd = best / N;
  console.log(`${name.padEnd(48)} ${perCmd.toFixed(1).padStart(7)} ns/cmd ${(1000 / perCmd).toFixed(2).padStart(7)} M cmd/s`);
}

function requestParser(chunks: Buffer[]): () => number {
  return () => {
    let n = 0;
    const p = new RequestParser({
      onCommand: () => {
        n++;
      },
      onProtocolError: (t) => {
        throw new Error(t);
      },
    });
    for (const c of chunks) p.feed(c);
    return n;
  };
}

function redisParserAlone(chunks: Buffer[], strings: boolean): () => number {
  return () => {
    let n = 0;
    const p = new RedisParser({
      returnBuffers: true,
      returnReply: (reply: Buffer[]) => {
        if (strings) {
          const argv = reply as unknown as string[];
          for (let i = 0; i < reply.length; i++) argv[i] = latin1(reply[i]!, 0, reply[i]!.length);
        }
        n++;
      },
      returnError: (e) => {
        throw e;
      },
    });
    for (const c of chunks) p.execute(c);
    return n;
  };
}

/** The guard's structure walk on whole requests, with or without slicing the arguments. */
function guardWalk(chunks: Buffer[], slice: boolean): () => number {
  function num(buf: Buffer, s: number, e: number): number {
    let v = 0;
    for (let i = s; i < e; i++) v = v * 10 + buf[i]! - 48;
    return v;
  }
  return () => {
    let n = 0;
    for (const buf of chunks) {
      const end = buf.length;
      let pos = 0;
      while (pos < end) {
        let p = pos + 1;
        while (buf[p] !== 13) p++;
        let args = num(buf, pos + 1, p);
        pos = p + 2;
        const argv: string[] | null = slice ? new Array<string>(args) : null;
        let k = 0;
        while (args-- > 0) {
          p = pos + 1;
          while (buf[p] !== 13) p++;
          const len = num(buf, pos + 1, p);
          pos = p + 2;
          if (argv) argv[k++] = latin1(buf, pos, pos + len);
          pos += len + 2;
        }
        n++;
      }
    }
    return n;
  };
}

const set = makeChunks(PER_CHUNK, (i) => resp(['SET', 'key:' + String(i).padStart(6, '0'), 'value']));
const bytes = set.reduce((a, c) => a + c.length, 0);
console.log(`${N} commands, ${set.length} chunks of ${PER_CHUNK} (${(bytes / set.length).toFixed(0)} bytes), node ${process.version}`);

measure('RequestParser, SET, 16/chunk', requestParser(set));
measure('redis-parser alone + latin1 strings', redisParserAlone(set, true));
measure('redis-parser alone, Buffers only', redisParserAlone(set, false));
measure('guard walk only (no output)', guardWalk(set, false));
measure('direct: guard walk + latin1 strings', guardWalk(set, true));

const split = rechunk(set, 1000);
measure('RequestParser, SET, 1000-byte chunks (splits)', requestParser(split));
const big = rechunk(set, 64 * 1024);
measure('RequestParser, SET, 64 KB chunks', requestParser(big));
const one = makeChunks(1, (i) => resp(['SET', 'key:' + String(i).padStart(6, '0'), 'value']));
measure('RequestParser, SET, 1 command/chunk', requestParser(one));

const ping = makeChunks(PER_CHUNK, () => 'PING\r\n');
measure('RequestParser, inline PING, 16/chunk', requestParser(ping));
const inlineSet = makeChunks(PER_CHUNK, (i) => 'SET key:' + String(i).padStart(6, '0') + ' value\r\n');
measure('RequestParser, inline SET, 16/chunk', requestParser(inlineSet));

if (process.env.BENCH_EXTRA) {
  measure('redis-parser alone + latin1, 64 KB chunks', redisParserAlone(big, true));
  measure('redis-parser alone + latin1, 1/chunk', redisParserAlone(one, true));
  measure('redis-parser alone, Buffers, 1/chunk', redisParserAlone(one, false));
}
