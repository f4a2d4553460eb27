/**
 * INFO persistence rdb_changes_since_last_save (Redis's server.dirty) beside
 * redis-server 7.0: a wide, seeded sequence of commands covering every write
 * command raftis has, each step's change of the counter compared with
 * redis-server's. A step is one command, or a transaction (MULTI … EXEC) or
 * a script, whose change is the sum of what its commands add.
 */
import { describe, expect, it } from 'vitest';
import { useProcessDifferential } from '../helpers/process-differential.js';
import { untilBlocked } from '../helpers/poll.js';
import type { RawClient } from '../helpers/raw-client.js';

const env = useProcessDifferential();

const infoField = (info: string, field: string): string | undefined => info.split('\r\n').find((l) => l.startsWith(`${field}:`))?.slice(field.length + 1);

async function dirty(c: RawClient): Promise<number> {
  return Number(infoField(await c.call('INFO', 'persistence'), 'rdb_changes_since_last_save'));
}

/** mulberry32 */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LIB = "#!lua name=dirtylib\nredis.register_function('w', function(keys, args) redis.call('sadd', keys[1], args[1], args[2]); return redis.call('del', keys[2]) end)";

/**
 * The generator: each step a list of commands run in turn (the counter read
 * after the last). Keys are few per type so commands meet existing keys,
 * missing keys and keys of another type. Commands whose outcome is random
 * (SPOP with a count below the size) are followed by a DEL of their key, so
 * both datasets stay equal.
 */
function steps(seed: number, n: number): string[][][] {
  const r = rng(seed);
  const int = (m: number): number => Math.floor(r() * m);
  const pick = <T>(a: readonly T[]): T => a[int(a.length)]!;
  const k = (p: string): string => `${p}:${int(3)}`;
  const anyKey = (): string => k(pick(['s', 'l', 'h', 'z', 't', 'x', 'b', 'p', 'g']));
  const m = (): string => `m${int(6)}`;
  const num = (): string => String(int(20) - 5);
  let xid = 1;
  const far = String(Math.floor(Date.now() / 1000) + 100_000);
  const gens: (() => string[][])[] = [
    // strings
    () => [['SET', k('s'), m(), ...pick([[], ['NX'], ['XX'], ['GET'], ['EX', '1000'], ['KEEPTTL'], ['NX', 'GET']])]],
    () => [['SETNX', k('s'), m()]],
    () => [['SETEX', k('s'), '1000', m()]],
    () => [['PSETEX', k('s'), '100000', m()]],
    () => [['GETSET', k('s'), m()]],
    () => [['GETDEL', k('s')]],
    () => [['GETEX', k('s'), ...pick([[], ['PERSIST'], ['EX', '1000'], ['EXAT', '1']])]],
    () => [['MSET', k('s'), m(), k('s'), m(), ...pick([[], [k('s'), m()]])]],
    () => [['MSETNX', k('s'), m(), k('s'), m()]],
    () => [['APPEND', k('s'), pick(['', 'ab'])]],
    () => [['SETRANGE', k('s'), String(int(4)), pick(['', 'xy'])]],
    () => [[pick(['INCR', 'DECR']), k('s')]],
    () => [[pick(['INCRBY', 'DECRBY']), k('s'), num()]],
    () => [['INCRBYFLOAT', k('s'), '1.5']],
    () => [['SET', k('s'), '10']],
    // keyspace
    () => [[pick(['DEL', 'UNLINK']), anyKey(), anyKey(), anyKey()]],
    () => [[pick(['RENAME', 'RENAMENX']), anyKey(), anyKey()]],
    () => [[pick(['EXPIRE', 'PEXPIRE']), anyKey(), pick(['100000', '-1']), ...pick([[], ['NX'], ['XX'], ['GT'], ['LT']])]],
    () => [[pick(['EXPIREAT', 'PEXPIREAT']), anyKey(), pick([far, '1'])]],
    () => [['PERSIST', anyKey()]],
    () => {
      const key = k('s');
      return [['SET', key, m(), 'EX', '1000'], ['PERSIST', key]];
    },
    () => [['COPY', anyKey(), anyKey(), ...pick([[], ['REPLACE'], ['DB', '1'], ['DB', '1', 'REPLACE']])]],
    () => [['MOVE', anyKey(), '1']],
    () => [['SWAPDB', '0', '1'], ['SWAPDB', '0', '1']],
    () => [['SORT', k('l'), 'STORE', k('l')]],
    () => [['SORT', k('t'), 'ALPHA', 'STORE', `sorted:${int(2)}`]],
    // DUMP of the string "hello" (redis-server 7.0.15).
    () => [['RESTORE', `r:${int(2)}`, '0', '\u0000\u0005hello\n\u0000cr\u00dfve4 \n', ...pick([[], ['REPLACE']])]],
    // hashes
    () => [[pick(['HSET', 'HMSET']), k('h'), m(), num(), ...pick([[], [m(), num()]])]],
    () => [['HSETNX', k('h'), m(), num()]],
    () => [['HDEL', k('h'), m(), m()]],
    () => [['HINCRBY', k('h'), m(), num()]],
    () => [['HINCRBYFLOAT', k('h'), m(), '0.5']],
    // sets
    () => [['SADD', k('t'), m(), m(), m()]],
    () => [['SREM', k('t'), m(), m()]],
    () => [['SMOVE', k('t'), k('t'), m()]],
    () => {
      const key = k('t');
      return [['SPOP', key, ...pick([[], ['0'], ['1'], ['2'], ['10']])], ['DEL', key]];
    },
    () => [[pick(['SINTERSTORE', 'SUNIONSTORE', 'SDIFFSTORE']), k('t'), k('t'), k('t')]],
    // bits
    () => [['SETBIT', k('b'), String(int(16)), pick(['0', '1'])]],
    () => [['BITOP', pick(['AND', 'OR', 'XOR']), k('b'), k('b'), k('b')]],
    () => [['BITOP', 'NOT', k('b'), k('b')]],
    () => [['BITFIELD', k('b'), 'SET', 'u4', '0', num(), ...pick([[], ['INCRBY', 'u4', '4', '1'], ['GET', 'u4', '0'], ['OVERFLOW', 'FAIL', 'INCRBY', 'u4', '0', '15']])]],
    // lists
    () => [[pick(['LPUSH', 'RPUSH']), k('l'), m(), m(), ...pick([[], [m()]])]],
    () => [[pick(['LPUSHX', 'RPUSHX']), k('l'), m(), m()]],
    () => [[pick(['LPOP', 'RPOP']), k('l'), ...pick([[], ['0'], ['1'], ['2'], ['10']])]],
    () => [['LSET', k('l'), String(int(3) - 1), m()]],
    () => [['LINSERT', k('l'), pick(['BEFORE', 'AFTER']), m(), m()]],
    () => [['LREM', k('l'), String(int(5) - 2), m()]],
    () => [['LTRIM', k('l'), String(int(3)), String(int(5) - 2)]],
    () => [['LMOVE', k('l'), k('l'), pick(['LEFT', 'RIGHT']), pick(['LEFT', 'RIGHT'])]],
    () => [['RPOPLPUSH', k('l'), k('l')]],
    () => [['LMPOP', '2', k('l'), k('l'), pick(['LEFT', 'RIGHT']), ...pick([[], ['COUNT', '2'], ['COUNT', '10']])]],
    () => {
      const key = k('l');
      return [['RPUSH', key, m(), m()], [pick(['BLPOP', 'BRPOP']), key, '0.01']];
    },
    () => {
      const key = k('l');
      return [['RPUSH', key, m()], ['BLMOVE', key, k('l'), 'LEFT', 'RIGHT', '0.01']];
    },
    () => {
      const key = k('l');
      return [['RPUSH', key, m()], ['BRPOPLPUSH', key, k('l'), '0.01']];
    },
    () => {
      const key = k('l');
      return [['RPUSH', key, m(), m(), m()], ['BLMPOP', '0.01', '1', key, 'LEFT', 'COUNT', String(1 + int(4))]];
    },
    // sorted sets
    () => [['ZADD', k('z'), ...pick([[], ['NX'], ['XX'], ['CH'], ['GT', 'CH'], ['INCR']]), num(), m(), ...(r() < 0.5 ? [num(), m()] : [])].filter((a, i, all) => !(all.includes('INCR') && i > 4))],
    () => [['ZINCRBY', k('z'), num(), m()]],
    () => [['ZREM', k('z'), m(), m()]],
    () => [['ZRANGESTORE', k('z'), k('z'), '0', String(int(4) - 1)]],
    () => [[pick(['ZPOPMIN', 'ZPOPMAX']), k('z'), ...pick([[], ['0'], ['1'], ['2'], ['10']])]],
    () => [['ZMPOP', '2', k('z'), k('z'), pick(['MIN', 'MAX']), ...pick([[], ['COUNT', '3']])]],
    () => [[pick(['ZUNIONSTORE', 'ZINTERSTORE', 'ZDIFFSTORE']), k('z'), '2', k('z'), k('z')]],
    () => [['ZREMRANGEBYSCORE', k('z'), String(int(10) - 5), String(int(10))]],
    () => [['ZREMRANGEBYRANK', k('z'), '0', String(int(3) - 1)]],
    () => [['ZREMRANGEBYLEX', k('z'), '-', pick(['+', '[m3'])]],
    () => {
      const key = k('z');
      return [['ZADD', key, '1', m()], [pick(['BZPOPMIN', 'BZPOPMAX']), key, '0.01']];
    },
    () => {
      const key = k('z');
      return [['ZADD', key, '1', m(), '2', m()], ['BZMPOP', '0.01', '1', key, 'MIN', 'COUNT', String(1 + int(3))]];
    },
    // hyperloglog
    () => [['PFADD', k('p'), ...pick([[], [m()], [m(), m(), m()]])]],
    () => [['PFCOUNT', k('p')]],
    () => [['PFMERGE', k('p'), k('p'), k('p')]],
    // geo
    () => [['GEOADD', k('g'), ...pick([[], ['NX'], ['XX'], ['CH']]), '13.36', '38.11', m(), ...(r() < 0.5 ? ['15.08', '37.50', m()] : [])]],
    () => [['GEORADIUS', k('g'), '15', '37', '300', 'km', pick(['STORE', 'STOREDIST']), k('g')]],
    () => [['GEORADIUSBYMEMBER', k('g'), m(), '300', 'km', 'STORE', k('g')]],
    () => [['GEOSEARCHSTORE', k('g'), k('g'), 'FROMLONLAT', '15', '37', 'BYRADIUS', '200', 'km', ...pick([[], ['STOREDIST']])]],
    // streams (explicit IDs, so both sides hold the same entries)
    () => [['XADD', k('x'), ...pick([[], ['NOMKSTREAM'], ['MAXLEN', '2']]), `${xid++}-0`, 'f', m()]],
    () => [['XDEL', k('x'), `${int(xid)}-0`, `${int(xid)}-0`]],
    () => [['XTRIM', k('x'), 'MAXLEN', String(int(4))]],
    () => [['XSETID', k('x'), `${xid + 1000}-0`]],
    () => [['XGROUP', 'CREATE', k('x'), `g${int(2)}`, '0', ...pick([[], ['MKSTREAM']])]],
    () => [['XGROUP', 'SETID', k('x'), `g${int(2)}`, '0']],
    () => [['XGROUP', 'DESTROY', k('x'), `g${int(2)}`]],
    () => [['XGROUP', 'CREATECONSUMER', k('x'), `g${int(2)}`, `c${int(2)}`]],
    () => [['XGROUP', 'DELCONSUMER', k('x'), `g${int(2)}`, `c${int(2)}`]],
    () => [['XREADGROUP', 'GROUP', `g${int(2)}`, `c${int(2)}`, ...pick([[], ['NOACK'], ['COUNT', '1']]), 'STREAMS', k('x'), pick(['>', '0'])]],
    () => [['XACK', k('x'), `g${int(2)}`, `${int(xid)}-0`, `${int(xid)}-0`]],
    () => [['XCLAIM', k('x'), `g${int(2)}`, `c${int(2)}`, '0', `${int(xid)}-0`, `${int(xid)}-0`, ...pick([[], ['JUSTID']])]],
    () => [['XAUTOCLAIM', k('x'), `g${int(2)}`, `c${int(2)}`, '0', '0', ...pick([[], ['COUNT', '1'], ['JUSTID']])]],
    // scripts and functions: the sum of their calls
    () => [['EVAL', "redis.call('sadd', KEYS[1], ARGV[1], ARGV[2]); redis.call('incr', KEYS[2]); return redis.call('del', KEYS[3])", '3', k('t'), k('s'), anyKey(), m(), m()]],
    () => [['EVAL', "return redis.call('get', KEYS[1])", '1', k('s')]],
    () => [['FCALL', 'w', '2', k('t'), anyKey(), m(), m()]],
    () => [['FUNCTION', 'LOAD', 'REPLACE', LIB]],
    // transactions: the sum of their commands
    () => [['MULTI'], ['SADD', k('t'), m(), m()], ['DEL', anyKey()], ['INCR', k('s')], ['EXEC']],
    () => [['MULTI'], ['GET', k('s')], ['EXEC']],
    // databases
    () => (r() < 0.3 ? [['FLUSHDB']] : [['SET', k('s'), m()]]),
  ];
  const out: string[][][] = [];
  // Every generator at least once, in order, then random ones.
  for (const g of gens) out.push(g());
  for (let i = 0; i < n; i++) out.push(pick(gens)());
  return out;
}

/** Runs one step on a connection: the replies, and the counter's change. */
async function runStep(c: RawClient, step: string[][]): Promise<{ delta: number; replies: string[] }> {
  const before = await dirty(c);
  const replies: string[] = [];
  for (const argv of step) replies.push(await c.call(...argv));
  return { delta: (await dirty(c)) - before, replies };
}

describe('rdb_changes_since_last_save counts as server.dirty', () => {
  for (const seed of [1, 2, 3]) {
    it(`seeded command sequence ${seed}: the counter's change per step equals redis-server's`, async () => {
      const [a, b] = await env.pair();
      for (const c of [a, b]) {
        await c.call('CONFIG', 'SET', 'save', '');
        await c.call('FLUSHALL');
        await c.call('FUNCTION', 'FLUSH');
        await c.call('FUNCTION', 'LOAD', LIB);
      }
      const mismatches: string[] = [];
      const replyDiffs: string[] = [];
      const all = steps(seed, 600);
      let nonZero = 0;
      for (let i = 0; i < all.length; i++) {
        const step = all[i]!;
        const ra = await runStep(a, step);
        const rb = await runStep(b, step);
        if (ra.delta !== 0) nonZero++;
        const show = step.map((argv) => argv.join(' ')).join(' ; ');
        if (ra.delta !== rb.delta) mismatches.push(`step ${i}: ${show}: redis +${ra.delta}, raftis +${rb.delta} (replies ${JSON.stringify(ra.replies)} / ${JSON.stringify(rb.replies)})`);
        if (ra.replies.join('') !== rb.replies.join('')) replyDiffs.push(`step ${i}: ${show}: ${JSON.stringify(ra.replies)} / ${JSON.stringify(rb.replies)}`);
      }
      if (process.env.DIRTY_DEBUG) console.log(mismatches.join('\n'));
      expect(mismatches, `reply differences (the datasets may have parted):\n${replyDiffs.slice(0, 10).join('\n')}`).toEqual([]);
      // The sequence did change things (a counter stuck at 0 would agree with nothing).
      expect(nonZero).toBeGreaterThan(all.length / 3);
      for (const c of [a, b]) await c.call('FUNCTION', 'FLUSH');
    }, 240_000);
  }

  /** Steps run one by one on both sides, each step's change compared; returns the changes seen. */
  async function compareSteps(a: RawClient, b: RawClient, list: string[][][]): Promise<number[]> {
    const mismatches: string[] = [];
    const deltas: number[] = [];
    for (const step of list) {
      const ra = await runStep(a, step);
      const rb = await runStep(b, step);
      deltas.push(ra.delta);
      if (ra.delta !== rb.delta || ra.replies.join('') !== rb.replies.join('')) {
        mismatches.push(`${step.map((x) => x.join(' ')).join(' ; ')}: redis +${ra.delta} ${JSON.stringify(ra.replies)}, raftis +${rb.delta} ${JSON.stringify(rb.replies)}`);
      }
    }
    expect(mismatches).toEqual([]);
    return deltas;
  }

  it('stream consumer groups: reads, acknowledgements, claims of live and deleted entries', async () => {
    const [a, b] = await env.pair();
    for (const c of [a, b]) {
      await c.call('CONFIG', 'SET', 'save', '');
      await c.call('FLUSHALL');
    }
    const deltas = await compareSteps(a, b, [
      [['XADD', 'st', '1-0', 'f', 'a']],
      [['XADD', 'st', '2-0', 'f', 'b']],
      [['XADD', 'st', '3-0', 'f', 'c']],
      [['XADD', 'st', '4-0', 'f', 'd']],
      [['XGROUP', 'CREATE', 'st', 'g', '0']],
      [['XGROUP', 'CREATE', 'st', 'g', '0']],
      [['XGROUP', 'CREATE', 'new', 'g', '$', 'MKSTREAM']],
      [['XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '2', 'STREAMS', 'st', '>']],
      [['XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '2', 'STREAMS', 'st', '>']],
      [['XREADGROUP', 'GROUP', 'g', 'c1', 'STREAMS', 'st', '>']],
      [['XREADGROUP', 'GROUP', 'g', 'c1', 'STREAMS', 'st', '0']],
      [['XREADGROUP', 'GROUP', 'g', 'c2', 'STREAMS', 'st', 'new', '0', '>']],
      [['XACK', 'st', 'g', '1-0', '1-0', '9-0']],
      [['XACK', 'st', 'g', '1-0']],
      [['XCLAIM', 'st', 'g', 'c2', '0', '2-0', '3-0', '9-0']],
      [['XCLAIM', 'st', 'g', 'c3', '0', '2-0', 'JUSTID']],
      [['XCLAIM', 'st', 'g', 'c3', '0', '2-0', 'LASTID', '8-0']],
      [['XDEL', 'st', '3-0']],
      [['XCLAIM', 'st', 'g', 'c2', '0', '3-0', '4-0']],
      [['XADD', 'st', '5-0', 'f', 'e']],
      [['XREADGROUP', 'GROUP', 'g', 'c1', 'NOACK', 'STREAMS', 'st', '>']],
      [['XGROUP', 'SETID', 'st', 'g', '0']],
      [['XREADGROUP', 'GROUP', 'g', 'c4', 'STREAMS', 'st', '>']],
      [['XDEL', 'st', '4-0', '5-0']],
      [['XAUTOCLAIM', 'st', 'g', 'c5', '0', '0']],
      [['XAUTOCLAIM', 'st', 'g', 'c5', '0', '0', 'COUNT', '1', 'JUSTID']],
      [['XGROUP', 'CREATECONSUMER', 'st', 'g', 'c9']],
      [['XGROUP', 'CREATECONSUMER', 'st', 'g', 'c9']],
      [['XGROUP', 'DELCONSUMER', 'st', 'g', 'c9']],
      [['XGROUP', 'DELCONSUMER', 'st', 'g', 'c1']],
      [['XTRIM', 'st', 'MAXLEN', '0']],
      [['XSETID', 'st', '100-0']],
      [['XGROUP', 'DESTROY', 'st', 'g']],
      [['XGROUP', 'DESTROY', 'st', 'g']],
    ]);
    // Reads that delivered, acknowledgements and claims counted something.
    expect(deltas.filter((d) => d > 1).length).toBeGreaterThan(2);
  });

  it('expired and evicted keys add nothing (as redis-server 7.0.15)', async () => {
    const [a, b] = await env.pair();
    for (const c of [a, b]) {
      await c.call('CONFIG', 'SET', 'save', '');
      await c.call('FLUSHALL');
      await c.call('SET', 'short', 'v', 'PX', '1');
    }
    await new Promise((r) => setTimeout(r, 50));
    // GET finds it expired (raftis deletes it through the log): the counter does not move.
    await compareSteps(a, b, [[['GET', 'short']], [['EXISTS', 'short']]]);
  });

  it('blocking pops served by a later push count as redis-server counts them (BLPOP, BRPOP, BLMOVE nothing; BLMPOP and BZ* what they pop)', async () => {
    const [a, b] = await env.pair();
    const [a2, b2] = await env.pair();
    const cases: [string[], string[]][] = [
      [['BLPOP', 'bl', '10'], ['RPUSH', 'bl', 'x', 'y', 'z']],
      [['BRPOP', 'bl', '10'], ['RPUSH', 'bl', 'x']],
      [['BLMOVE', 'bl', 'bm', 'LEFT', 'RIGHT', '10'], ['RPUSH', 'bl', 'x']],
      [['BRPOPLPUSH', 'bl', 'bm', '10'], ['RPUSH', 'bl', 'x']],
      [['BLMPOP', '10', '1', 'bl', 'LEFT', 'COUNT', '2'], ['RPUSH', 'bl', 'x', 'y', 'z']],
      [['BZPOPMIN', 'bz', '10'], ['ZADD', 'bz', '1', 'm', '2', 'n']],
      [['BZMPOP', '10', '1', 'bz', 'MAX', 'COUNT', '3'], ['ZADD', 'bz', '1', 'm', '2', 'n']],
    ];
    const deltas: number[][] = [[], []];
    for (const [i, c, other] of [
      [0, a, a2],
      [1, b, b2],
    ] as const) {
      await c.call('CONFIG', 'SET', 'save', '');
      for (const [pop, push] of cases) {
        await c.call('DEL', 'bl', 'bz', 'bm');
        const before = await dirty(c);
        const popped = other.call(...pop);
        // Parked before the push (else the pop is served at once and counts as an immediate one).
        await untilBlocked(c, 1);
        await c.call(...push);
        expect(await popped).not.toMatch(/^\*-1|^_/);
        deltas[i]!.push((await dirty(c)) - before);
      }
    }
    expect(deltas[1]).toEqual(deltas[0]);
  });

  it('FLUSHALL and FLUSHDB add the keys they removed (in every database for FLUSHALL)', async () => {
    const [a, b] = await env.pair();
    for (const c of [a, b]) {
      await c.call('CONFIG', 'SET', 'save', '');
      await c.call('FLUSHALL');
      await c.call('MSET', 'a', '1', 'b', '2', 'c', '3');
      await c.call('SELECT', '2');
      await c.call('SET', 'd', '4');
      await c.call('SELECT', '0');
    }
    const ra = await runStep(a, [['FLUSHALL']]);
    const rb = await runStep(b, [['FLUSHALL']]);
    expect(ra.delta).toBe(4);
    expect(rb.delta).toBe(ra.delta);
    // Nothing left: nothing counted.
    expect((await runStep(b, [['FLUSHALL']])).delta).toBe((await runStep(a, [['FLUSHALL']])).delta);
    for (const c of [a, b]) await c.call('MSET', 'a', '1', 'b', '2');
    expect((await runStep(b, [['FLUSHDB']])).delta).toBe((await runStep(a, [['FLUSHDB']])).delta);
  });
});
