/**
 * Client-side caching against redis-server, byte for byte: the same
 * scenario (several connections, one acting per step) on both servers,
 * every frame every connection receives (replies, invalidation pushes and
 * __redis__:invalidate messages) compared step by step. `$N` in a command
 * stands for connection N's CLIENT ID on that server; the ids in replies
 * are written back as `$N` so that both servers compare equal.
 */
import { describe, expect, it } from 'vitest';
import { render, runScenario, type Outputs, type PsStep } from '../helpers/pubsub-diff.js';
import { sleep } from '../helpers/poll.js';
import { PushClient } from '../helpers/push-client.js';
import { useProcessDifferential } from '../helpers/process-differential.js';

const env = useProcessDifferential();

const s = (c: number, ...cmd: string[]): PsStep => ({ c, cmd });

interface Scenario {
  clients: number;
  /** Connections (by index) that speak RESP3; the others RESP2. */
  resp3: number[];
  steps: PsStep[];
}

/** Runs the steps on the server at `port` (waiting for as many frames as `expected` holds, when given). */
const run = (port: number, sc: Scenario, expected?: Outputs): Promise<Outputs> => runScenario(port, sc.clients, sc.steps, 2, expected, { resp3: sc.resp3, ids: true, quietMs: 30 });

/** The CLIENT INFO fields tracking changes. */
const listFields = (f: string): string => {
  const m = /flags=(\S*) .*redir=(\S*) /.exec(f);
  return m ? `flags=${m[1]} redir=${m[2]}` : f;
};

/** One INFO field group. */
const infoFields = (f: string): string => (f.match(/^tracking_\w+:\d+$/gm) ?? []).join(',');

const scenarios: Record<string, Scenario> = {
  resp3_self_invalidation: {
    clients: 2,
    resp3: [0],
    steps: [
      s(1, 'FLUSHALL'),
      s(0, 'CLIENT', 'TRACKING', 'on'),
      s(0, 'GET', 'a'),
      s(0, 'MGET', 'b', 'c'),
      s(1, 'SET', 'a', '1'),
      s(1, 'SET', 'a', '2'),
      s(0, 'GET', 'a'),
      // Its own write: the invalidation follows the reply.
      s(0, 'SET', 'a', '3'),
      s(1, 'MSET', 'b', '1', 'c', '2', 'd', '3'),
      s(0, 'HGETALL', 'h'),
      s(1, 'HSET', 'h', 'f', 'v'),
      s(0, 'GET', 'x'),
      s(0, 'MULTI'),
      s(0, 'SET', 'x', '1'),
      s(0, 'GET', 'x'),
      s(0, 'EXEC'),
      s(1, 'DEL', 'x'),
      s(0, 'EXISTS', 'y'),
      s(1, 'EXPIRE', 'y', '100'),
      s(1, 'SET', 'y', 'v'),
      s(1, 'EXPIRE', 'y', '100'),
      { c: 0, cmd: ['INFO', 'stats'], norm: infoFields },
      { c: 0, cmd: ['INFO', 'clients'], norm: infoFields },
      s(0, 'CLIENT', 'TRACKINGINFO'),
      s(0, 'CLIENT', 'GETREDIR'),
      { c: 0, cmd: ['CLIENT', 'INFO'], norm: listFields },
      s(0, 'CLIENT', 'TRACKING', 'off'),
      s(0, 'GET', 'z'),
      s(1, 'SET', 'z', '1'),
      s(0, 'CLIENT', 'TRACKINGINFO'),
      s(0, 'CLIENT', 'GETREDIR'),
    ],
  },
  resp2_redirect: {
    clients: 3,
    resp3: [],
    steps: [
      s(2, 'FLUSHALL'),
      s(1, 'SUBSCRIBE', '__redis__:invalidate'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'REDIRECT', '$1'),
      s(0, 'GET', 'a'),
      s(2, 'SET', 'a', '1'),
      s(0, 'GET', 'a'),
      s(0, 'SET', 'a', '2'),
      s(0, 'GET', 'b'),
      s(2, 'FLUSHALL'),
      s(0, 'CLIENT', 'GETREDIR'),
      s(0, 'CLIENT', 'TRACKINGINFO'),
      { c: 0, cmd: ['CLIENT', 'INFO'], norm: listFields },
      // A RESP2 client without a redirect gets nothing.
      s(0, 'CLIENT', 'TRACKING', 'on'),
      s(0, 'GET', 'c'),
      s(2, 'SET', 'c', '1'),
    ],
  },
  resp3_redirect_and_broken: {
    clients: 3,
    resp3: [0, 1],
    steps: [
      s(2, 'FLUSHALL'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'REDIRECT', '$1'),
      s(0, 'GET', 'k'),
      s(2, 'SET', 'k', '1'),
      s(0, 'GET', 'k'),
      s(1, 'QUIT'),
      s(2, 'SET', 'k', '2'),
      s(0, 'CLIENT', 'TRACKINGINFO'),
      { c: 0, cmd: ['CLIENT', 'INFO'], norm: listFields },
      s(0, 'GET', 'k'),
      s(2, 'FLUSHDB'),
    ],
  },
  bcast_prefixes: {
    clients: 3,
    resp3: [0, 1],
    steps: [
      s(2, 'FLUSHALL'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'BCAST', 'PREFIX', 'user:', 'PREFIX', 'acct:'),
      s(1, 'CLIENT', 'TRACKING', 'on', 'BCAST'),
      s(2, 'SET', 'user:1', 'a'),
      s(2, 'MSET', 'user:3', 'a', 'acct:9', 'b', 'other', 'c', 'user:2', 'd'),
      s(2, 'SET', 'nothing', 'x'),
      s(0, 'SET', 'user:1', 'mine'),
      s(0, 'CLIENT', 'TRACKINGINFO'),
      s(1, 'CLIENT', 'TRACKINGINFO'),
      { c: 0, cmd: ['CLIENT', 'INFO'], norm: listFields },
      { c: 2, cmd: ['INFO', 'stats'], norm: infoFields },
      s(0, 'CLIENT', 'TRACKING', 'on', 'BCAST', 'PREFIX', 'us'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'BCAST', 'PREFIX', 'new:', 'PREFIX', 'new:x'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'BCAST', 'PREFIX', 'zz:'),
      s(0, 'CLIENT', 'TRACKINGINFO'),
      s(2, 'SET', 'zz:1', 'v'),
      s(0, 'CLIENT', 'TRACKING', 'off'),
      s(2, 'SET', 'zz:1', 'w'),
      s(2, 'FLUSHALL'),
      { c: 2, cmd: ['INFO', 'stats'], norm: infoFields },
    ],
  },
  noloop: {
    clients: 2,
    resp3: [0, 1],
    steps: [
      s(1, 'FLUSHALL'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'NOLOOP'),
      s(0, 'GET', 'n'),
      s(0, 'SET', 'n', '1'),
      s(1, 'SET', 'n', '2'),
      s(0, 'GET', 'n'),
      s(1, 'SET', 'n', '3'),
      s(0, 'CLIENT', 'TRACKINGINFO'),
      s(0, 'CLIENT', 'TRACKING', 'off'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'BCAST', 'NOLOOP', 'PREFIX', 'n'),
      s(0, 'MSET', 'n1', 'a', 'n2', 'b'),
      s(1, 'MSET', 'n2', 'a', 'n3', 'b'),
      s(0, 'CLIENT', 'TRACKINGINFO'),
    ],
  },
  optin_optout: {
    clients: 2,
    resp3: [0],
    steps: [
      s(1, 'FLUSHALL'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'OPTIN'),
      s(0, 'GET', 'o1'),
      s(1, 'SET', 'o1', 'x'),
      s(0, 'CLIENT', 'CACHING', 'yes'),
      s(0, 'CLIENT', 'TRACKINGINFO'),
      s(0, 'GET', 'o2'),
      s(0, 'GET', 'o3'),
      s(0, 'CLIENT', 'TRACKINGINFO'),
      s(1, 'MSET', 'o2', 'x', 'o3', 'y'),
      s(0, 'CLIENT', 'CACHING', 'yes'),
      s(0, 'CLIENT', 'ID'),
      s(0, 'GET', 'o4'),
      s(1, 'SET', 'o4', 'x'),
      // An unknown command uses up CLIENT CACHING too; a transaction keeps it until EXEC.
      s(0, 'CLIENT', 'CACHING', 'yes'),
      s(0, 'NOSUCHCOMMAND'),
      s(0, 'GET', 'o5'),
      s(1, 'SET', 'o5', 'x'),
      s(0, 'CLIENT', 'CACHING', 'yes'),
      s(0, 'MULTI'),
      s(0, 'GET', 'o6'),
      s(0, 'GET', 'o7'),
      s(0, 'EXEC'),
      s(0, 'GET', 'o8'),
      s(1, 'MSET', 'o6', '1', 'o7', '2', 'o8', '3'),
      s(0, 'CLIENT', 'CACHING', 'no'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'OPTOUT'),
      s(0, 'CLIENT', 'TRACKING', 'off'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'OPTOUT'),
      s(0, 'GET', 'p1'),
      s(0, 'CLIENT', 'CACHING', 'no'),
      s(0, 'CLIENT', 'TRACKINGINFO'),
      s(0, 'GET', 'p2'),
      s(1, 'MSET', 'p1', 'x', 'p2', 'y'),
      s(0, 'CLIENT', 'CACHING', 'yes'),
      s(0, 'CLIENT', 'CACHING', 'maybe'),
    ],
  },
  scripts_and_other_reads: {
    clients: 2,
    resp3: [0],
    steps: [
      s(1, 'FLUSHALL'),
      s(0, 'CLIENT', 'TRACKING', 'on'),
      // A script's declared keys are tracked; a key it reads without declaring it is not.
      s(0, 'EVAL', "return redis.call('get', KEYS[1])", '1', 's1'),
      s(0, 'EVAL_RO', "return redis.call('get', KEYS[1])", '1', 's2'),
      s(0, 'EVAL', "return redis.call('get', 's3')", '0'),
      s(0, 'EVAL', "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", '1', 's4'),
      s(1, 'MSET', 's1', '1', 's2', '2', 's3', '3', 's4', '4'),
      s(0, 'SORT_RO', 's5'),
      s(0, 'XREAD', 'STREAMS', 's6', '0'),
      s(0, 'PFCOUNT', 's7'),
      s(0, 'ZRANGE', 's8', '0', '-1'),
      s(0, 'STRLEN', 's9'),
      s(1, 'SET', 's5', '1'),
      s(1, 'XADD', 's6', '1-1', 'a', 'b'),
      s(1, 'PFADD', 's7', 'a'),
      s(1, 'ZADD', 's8', '1', 'm'),
      s(1, 'APPEND', 's9', 'x'),
      s(0, 'GET', 's10'),
      s(1, 'SET', 's10', 'v', 'PX', '1'),
      s(1, 'SET', 's11', 'v'),
      s(0, 'GET', 's11'),
      s(1, 'RENAME', 's11', 's12'),
      s(0, 'GET', 's12'),
      s(1, 'DEL', 's12'),
    ],
  },
  errors: {
    clients: 2,
    resp3: [0],
    steps: [
      s(0, 'CLIENT', 'CACHING', 'yes'),
      s(0, 'CLIENT', 'TRACKING'),
      s(0, 'CLIENT', 'TRACKING', 'maybe'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'bogus'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'REDIRECT'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'REDIRECT', 'abc'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'REDIRECT', '999999'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'REDIRECT', '0'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'REDIRECT', '$1', 'REDIRECT', '$1'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'PREFIX', 'a'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'PREFIX'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'BCAST', 'OPTIN'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'OPTIN', 'OPTOUT'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'BCAST', 'PREFIX', 'ab', 'PREFIX', 'a'),
      // (Not compared: with the overlap among later new prefixes, e.g. PREFIX a PREFIX b PREFIX bc,
      // redis-server 7.0 answers the error and then +OK, enabling tracking; raftis answers the error alone.)
      s(0, 'CLIENT', 'TRACKING', 'maybe', 'REDIRECT', '999999'),
      s(0, 'CLIENT', 'TRACKING', 'off', 'PREFIX', 'p'),
      s(0, 'CLIENT', 'TRACKING', 'off', 'bogus'),
      s(0, 'CLIENT', 'TRACKING', 'ON', 'redirect', '$0', 'optin', 'noloop'),
      s(0, 'CLIENT', 'TRACKINGINFO'),
      s(0, 'CLIENT', 'GETREDIR'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'BCAST'),
      s(0, 'CLIENT', 'TRACKING', 'on', 'OPTOUT'),
      s(0, 'CLIENT', 'TRACKING', 'on'),
      s(0, 'CLIENT', 'TRACKINGINFO'),
      s(0, 'CLIENT', 'TRACKINGINFO', 'extra'),
      s(0, 'CLIENT', 'GETREDIR', 'extra'),
      s(0, 'CLIENT', 'CACHING'),
      s(0, 'RESET'),
      s(0, 'CLIENT', 'TRACKINGINFO'),
    ],
  },
};

describe('client-side caching is byte-identical to redis-server', () => {
  for (const [name, sc] of Object.entries(scenarios)) {
    it(name, async () => {
      const want = await run(env.diff.redis.port, sc);
      const got = await run(env.raftis.port, sc, want);
      expect(render(sc.steps, got)).toEqual(render(sc.steps, want));
    });
  }
});

describe('pipelined reads and writes of the tracking client itself', () => {
  it('every invalidation follows the reply of the write that caused it, and a read after the write tracks the key again', async () => {
    const pipeline = [
      ['SET', 'pa', '1'],
      ['PING'],
      ['GET', 'pa'],
      ['SET', 'pb', '2'],
      ['GET', 'pb'],
      ['SET', 'pa', '3'],
      ['MSET', 'pa', '1', 'pb', '2'],
      ['GET', 'pa'],
      ['MULTI'],
      ['GET', 'pa'],
      ['SET', 'pa', '4'],
      ['EXEC'],
      ['SET', 'pa', '5'],
    ];
    const outputs: string[][] = [];
    for (const port of [env.diff.redis.port, env.raftis.port]) {
      const c = await PushClient.connect(port);
      try {
        await c.call(1, 'HELLO', '3');
        await c.call(1, 'FLUSHALL');
        expect(await c.call(1, 'CLIENT', 'TRACKING', 'on')).toEqual(['+OK\r\n']);
        expect(await c.call(1, 'MGET', 'pa', 'pb')).toEqual(['*2\r\n_\r\n_\r\n']);
        for (const cmd of pipeline) c.send(...cmd);
        // As many frames as redis-server sent (waited for on raftis), then anything extra.
        const frames = outputs.length === 0 ? await c.take(1000, 1000) : await c.take(outputs[0]!.length);
        await sleep(100);
        outputs.push([...frames, ...c.takeAll()]);
      } finally {
        c.close();
      }
    }
    expect(outputs[0]!.length).toBeGreaterThan(pipeline.length);
    expect(outputs[1]).toEqual(outputs[0]);
  });
});

describe('tracking-table-max-keys', () => {
  it('evicts tracked keys past the limit with an invalidation, as redis-server', async () => {
    // Redis evicts a random key; raftis the oldest: compare what each server keeps and sends, not which key.
    for (const port of [env.diff.redis.port, env.raftis.port]) {
      const c = await PushClient.connect(port);
      const admin = await PushClient.connect(port);
      try {
        await c.call(1, 'HELLO', '3');
        await admin.call(1, 'FLUSHALL');
        expect(await c.call(1, 'CLIENT', 'TRACKING', 'on')).toEqual(['+OK\r\n']);
        await admin.call(1, 'CONFIG', 'SET', 'tracking-table-max-keys', '2');
        await c.call(1, 'MGET', 'm1', 'm2');
        await c.call(1, 'GET', 'm3');
        // Evicted after the reply (Redis: in beforeSleep), with an invalidation of the key.
        const [push] = await c.take(1);
        expect(push).toMatch(/^>2\r\n\$10\r\ninvalidate\r\n\*1\r\n\$2\r\nm[123]\r\n$/);
        const info = (await admin.call(1, 'INFO', 'stats'))[0]!;
        expect(infoFields(info)).toBe('tracking_total_keys:2,tracking_total_items:2,tracking_total_prefixes:0');
        await admin.call(1, 'CONFIG', 'SET', 'tracking-table-max-keys', '0');
        await c.call(1, 'MGET', 'm4', 'm5', 'm6');
        expect(infoFields((await admin.call(1, 'INFO', 'stats'))[0]!)).toBe('tracking_total_keys:5,tracking_total_items:5,tracking_total_prefixes:0');
      } finally {
        await admin.call(1, 'CONFIG', 'SET', 'tracking-table-max-keys', '1000000').catch(() => undefined);
        c.close();
        admin.close();
      }
    }
  });
});
