/**
 * Pub/sub against redis-server, byte for byte, in RESP2 and RESP3: the same
 * scenario (several connections, one acting per step) on both servers, every
 * frame every connection receives compared step by step.
 */
import { describe, expect, it } from 'vitest';
import { render, runScenario, sortBulkArray, type PsStep } from '../helpers/pubsub-diff.js';
import { useProcessDifferential } from '../helpers/process-differential.js';
import { sha1hex } from '../../src/util/lua/vm.js';

const env = useProcessDifferential();

const s = (c: number, ...cmd: string[]): PsStep => ({ c, cmd });

interface Scenario {
  clients: number;
  steps: PsStep[];
}

const scenarios: Record<string, Scenario> = {
  subscribe_unsubscribe: {
    clients: 2,
    steps: [
      s(0, 'UNSUBSCRIBE'),
      s(0, 'PUNSUBSCRIBE'),
      s(0, 'UNSUBSCRIBE', 'never', 'was'),
      s(0, 'SUBSCRIBE', 'news'),
      s(1, 'PUBLISH', 'news', 'hello'),
      s(1, 'PUBLISH', 'other', 'x'),
      s(0, 'SUBSCRIBE', 'news', 'sport', 'news'),
      s(1, 'PUBLISH', 'sport', 'goal'),
      s(0, 'UNSUBSCRIBE', 'news', 'nope'),
      s(1, 'PUBLISH', 'news', 'late'),
      s(0, 'UNSUBSCRIBE'),
      s(0, 'UNSUBSCRIBE'),
      s(1, 'PUBLISH', 'sport', 'nobody'),
      s(0, 'GET', 'ps:nokey'),
      s(0, 'subscribe', 'Case'),
      s(1, 'PUBLISH', 'case', 'no'),
      s(1, 'PUBLISH', 'Case', 'yes'),
      s(0, 'unsubscribe', 'Case'),
    ],
  },
  patterns: {
    clients: 2,
    steps: [
      s(0, 'PSUBSCRIBE', 'news.*', 'h?llo', 'news.*'),
      s(1, 'PUBLISH', 'news.tech', 'x'),
      s(1, 'PUBLISH', 'hello', 'y'),
      s(1, 'PUBLISH', 'hllo', 'none'),
      s(0, 'SUBSCRIBE', 'news.tech'),
      s(1, 'PUBLISH', 'news.tech', 'both'),
      s(0, 'PUNSUBSCRIBE', 'h?llo', 'nope'),
      s(1, 'PUBLISH', 'hallo', 'gone'),
      s(0, 'PUNSUBSCRIBE'),
      s(0, 'PUNSUBSCRIBE'),
      s(0, 'UNSUBSCRIBE'),
      s(0, 'PSUBSCRIBE', '*', '[a-c]x', 'esc\\*', '[^z]'),
      // The empty channel matches no pattern but the empty one ("*" included).
      s(1, 'PUBLISH', '', 'empty'),
      // Two patterns match: Redis walks its pattern dict in hash order.
      { c: 1, cmd: ['PUBLISH', 'bx', 'range'], sort: true },
      { c: 1, cmd: ['PUBLISH', 'esc*', 'escaped'], sort: true },
      s(1, 'PUBLISH', 'escX', 'not escaped'),
      s(0, 'PUNSUBSCRIBE', '*', '[a-c]x', 'esc\\*', '[^z]'),
    ],
  },
  multiple_patterns_one_channel: {
    clients: 2,
    steps: [
      s(0, 'PSUBSCRIBE', 'a*', '*b', 'a?b'),
      // Redis walks its pattern dict in hash order: compare the pmessages as a multiset.
      { c: 1, cmd: ['PUBLISH', 'aXb', 'm'], sort: true },
      s(0, 'PUNSUBSCRIBE', 'a*'),
      { c: 1, cmd: ['PUBLISH', 'aXb', 'm2'], sort: true },
    ],
  },
  receivers: {
    clients: 4,
    steps: [
      s(0, 'SUBSCRIBE', 'ch'),
      s(0, 'PSUBSCRIBE', 'c*'),
      s(1, 'SUBSCRIBE', 'ch'),
      s(2, 'PSUBSCRIBE', '*h'),
      s(3, 'PUBLISH', 'ch', 'to all'),
      s(3, 'PUBLISH', 'cx', 'one'),
      s(1, 'UNSUBSCRIBE', 'ch'),
      s(3, 'PUBLISH', 'ch', 'three'),
    ],
  },
  subscribed_mode: {
    clients: 2,
    steps: [
      s(0, 'SUBSCRIBE', 'a'),
      s(0, 'GET', 'ps:x'),
      s(0, 'SET', 'ps:x', '1'),
      s(0, 'PUBLISH', 'a', 'self'),
      s(0, 'PING'),
      s(0, 'PING', 'hi'),
      s(0, 'PING', 'a', 'b'),
      s(0, 'PUBSUB', 'CHANNELS'),
      s(0, 'PUBSUB', 'NOSUCH'),
      { c: 0, cmd: ['CLIENT', 'ID'], norm: (f) => f.replace(/^:\d+/, ':ID') },
      s(0, 'MULTI'),
      s(0, 'ECHO', 'x'),
      s(0, 'DISCARD'),
      s(0, 'NOSUCHCOMMAND'),
      s(0, 'SUBSCRIBE'),
      s(0, 'PSUBSCRIBE', 'p*'),
      s(0, 'UNSUBSCRIBE', 'a'),
      s(0, 'GET', 'ps:x'),
      s(1, 'PUBLISH', 'pp', 'via pattern'),
      s(0, 'PUNSUBSCRIBE'),
      s(0, 'PING'),
      s(0, 'GET', 'ps:x'),
      s(0, 'DEL', 'ps:x'),
    ],
  },
  introspection: {
    clients: 5,
    steps: [
      s(4, 'PUBSUB', 'NUMPAT'),
      s(4, 'PUBSUB', 'CHANNELS'),
      s(0, 'SUBSCRIBE', 'a', 'b'),
      s(1, 'SUBSCRIBE', 'b', 'c'),
      s(2, 'PSUBSCRIBE', 'x*', 'y*'),
      s(3, 'PSUBSCRIBE', 'x*'),
      s(4, 'PUBSUB', 'NUMSUB', 'a', 'b', 'c', 'd', 'x*'),
      s(4, 'PUBSUB', 'NUMSUB'),
      s(4, 'PUBSUB', 'NUMPAT'),
      { c: 4, cmd: ['INFO', 'stats'], norm: (f) => (f.match(/^pubsub\w*:\d+$/gm) ?? []).join(',') },
      { c: 4, cmd: ['PUBSUB', 'CHANNELS'], norm: sortBulkArray },
      { c: 4, cmd: ['pubsub', 'channels', '*'], norm: sortBulkArray },
      { c: 4, cmd: ['PUBSUB', 'CHANNELS', '[ab]'], norm: sortBulkArray },
      s(4, 'PUBSUB', 'CHANNELS', 'z*'),
      s(4, 'PUBSUB', 'CHANNELS', 'a', 'b'),
      s(4, 'PUBSUB', 'NUMPAT', 'x'),
      s(4, 'PUBSUB', 'SHARDCHANNELS'),
      s(4, 'PUBSUB', 'SHARDNUMSUB', 'a'),
      s(4, 'PUBSUB', 'HELP'),
      s(4, 'PUBSUB', 'help', 'x'),
      s(4, 'PUBSUB', 'NOSUCH'),
      s(4, 'PUBSUB'),
      s(4, 'PUBLISH', 'a'),
      s(4, 'SUBSCRIBE'),
      s(4, 'PSUBSCRIBE'),
      // QUIT and a dropped connection both leave their subscriptions.
      s(0, 'QUIT'),
      s(4, 'PUBSUB', 'NUMSUB', 'a', 'b', 'c'),
      { c: 1, close: true },
      s(4, 'PUBSUB', 'NUMSUB', 'a', 'b', 'c'),
      { c: 4, cmd: ['PUBSUB', 'CHANNELS'], norm: sortBulkArray },
      s(3, 'PUNSUBSCRIBE', 'x*'),
      s(4, 'PUBSUB', 'NUMPAT'),
      { c: 2, close: true },
      s(4, 'PUBSUB', 'NUMPAT'),
      s(4, 'PUBLISH', 'xa', 'nobody'),
    ],
  },
  reset: {
    clients: 2,
    steps: [
      s(0, 'SUBSCRIBE', 'r1'),
      s(0, 'PSUBSCRIBE', 'r*'),
      s(1, 'PUBLISH', 'r1', 'before'),
      s(0, 'RESET'),
      s(1, 'PUBLISH', 'r1', 'after'),
      s(1, 'PUBSUB', 'NUMSUB', 'r1'),
      s(1, 'PUBSUB', 'NUMPAT'),
      s(0, 'GET', 'ps:nokey'),
      s(0, 'PING'),
      s(0, 'UNSUBSCRIBE'),
    ],
  },
  binary: {
    clients: 2,
    steps: [
      s(0, 'SUBSCRIBE', 'bin\r\n\x00\xff'),
      s(0, 'PSUBSCRIBE', 'bin\r*'),
      s(1, 'PUBLISH', 'bin\r\n\x00\xff', 'm\r\n\x00\xfe'.repeat(3)),
      s(1, 'PUBLISH', 'bin\r\n\x00\xff', 'big'.repeat(40_000)),
      s(1, 'PUBSUB', 'NUMSUB', 'bin\r\n\x00\xff'),
      s(0, 'UNSUBSCRIBE', 'bin\r\n\x00\xff'),
    ],
  },
  subscribe_in_multi: {
    clients: 2,
    steps: [
      s(0, 'MULTI'),
      s(0, 'SUBSCRIBE', 'm1', 'm2'),
      s(0, 'PING'),
      s(0, 'PSUBSCRIBE', 'm*'),
      s(0, 'EXEC'),
      s(1, 'PUBLISH', 'm1', 'x'),
      s(0, 'UNSUBSCRIBE', 'm1', 'm2'),
      s(0, 'PUNSUBSCRIBE', 'm*'),
    ],
  },
  shard_channels: {
    clients: 3,
    steps: [
      s(0, 'SUNSUBSCRIBE'),
      s(0, 'SUNSUBSCRIBE', 'never'),
      s(0, 'SSUBSCRIBE', 's1', 's2', 's1'),
      s(1, 'SSUBSCRIBE', 's2'),
      s(0, 'SUBSCRIBE', 'c1'),
      s(0, 'SSUBSCRIBE', 's3'),
      s(0, 'GET', 'ps:x'),
      s(2, 'SPUBLISH', 's1', 'hello'),
      s(2, 'SPUBLISH', 's2', 'two readers'),
      // Channels and shard channels are apart: each publish reaches only its own kind.
      s(2, 'PUBLISH', 's1', 'not a shard message'),
      s(2, 'SPUBLISH', 'c1', 'not a channel message'),
      s(2, 'SPUBLISH', 'nobody', 'x'),
      s(2, 'PUBSUB', 'SHARDNUMSUB', 's1', 's2', 's3', 'c1', 'nobody'),
      { c: 2, cmd: ['PUBSUB', 'SHARDCHANNELS'], norm: sortBulkArray },
      { c: 2, cmd: ['PUBSUB', 'SHARDCHANNELS', 's[12]'], norm: sortBulkArray },
      s(2, 'PUBSUB', 'SHARDCHANNELS', 'zz*'),
      s(2, 'PUBSUB', 'CHANNELS'),
      { c: 2, cmd: ['INFO', 'stats'], norm: (f) => (f.match(/^pubsub\w*:\d+$/gm) ?? []).join(',') },
      s(0, 'SUNSUBSCRIBE', 's1', 'never'),
      s(0, 'UNSUBSCRIBE'),
      // Still subscribed to shard channels: still in the subscribed context.
      s(0, 'GET', 'ps:x'),
      s(0, 'PING'),
      s(0, 'SUNSUBSCRIBE', 's2'),
      s(0, 'SUNSUBSCRIBE'),
      s(0, 'SUNSUBSCRIBE'),
      s(0, 'GET', 'ps:x'),
      s(2, 'SPUBLISH', 's2', 'one reader left'),
      s(1, 'RESET'),
      s(2, 'SPUBLISH', 's2', 'nobody after reset'),
      s(2, 'PUBSUB', 'SHARDNUMSUB', 's2'),
      s(2, 'SSUBSCRIBE'),
      s(2, 'SPUBLISH', 'a'),
      s(2, 'SPUBLISH', 'bin\r\n\x00\xff', 'm\r\n\x00\xfe'),
    ],
  },
  ssubscribe_in_multi: {
    clients: 2,
    steps: [
      s(0, 'MULTI'),
      s(0, 'SSUBSCRIBE', 'm1'),
      s(0, 'SPUBLISH', 'm1', 'x'),
      s(0, 'EXEC'),
      s(1, 'PUBSUB', 'SHARDNUMSUB', 'm1'),
      s(0, 'GET', 'ps:x'),
    ],
  },
  // Queue libraries (bull) publish their events from scripts: delivered like a PUBLISH, counted the same.
  publish_from_scripts: {
    clients: 3,
    steps: [
      s(0, 'SUBSCRIBE', 'sc'),
      s(0, 'PSUBSCRIBE', 's*'),
      s(1, 'SSUBSCRIBE', 'sh'),
      s(2, 'EVAL', "return redis.call('publish', 'sc', ARGV[1])", '0', 'hello'),
      s(2, 'EVAL', "return redis.call('PUBLISH', KEYS[1], 'to pattern only')", '1', 'sz'),
      s(2, 'EVAL', "return redis.call('spublish', KEYS[1], 'shard')", '1', 'sh'),
      s(2, 'EVAL', "return redis.call('publish', 'sh', 'not a shard message')", '0'),
      s(2, 'EVAL', "local a = redis.call('publish', 'sc', 'a') local b = redis.call('publish', 'nobody', 'b') return {a, b}", '0'),
      s(2, 'EVAL', "redis.call('set', KEYS[1], 'v') redis.call('publish', 'sc', 'before error') error('boom')", '1', 'ps:k'),
      s(2, 'EVAL', "return redis.pcall('publish', 'sc')", '0'),
      s(2, 'EVAL', "return redis.pcall('spublish', 'sh')", '0'),
      s(2, 'EVAL_RO', "return redis.call('publish', 'sc', 'ro')", '0'),
      s(2, 'EVAL_RO', "return redis.call('spublish', 'sh', 'ro')", '0'),
      s(2, 'EVAL', "#!lua flags=no-writes\nreturn redis.pcall('publish', 'sc', 'no-writes')", '0'),
      s(2, 'EVAL', "#!lua\nreturn redis.call('publish', 'sc', 'with shebang')", '0'),
      s(2, 'SCRIPT', 'LOAD', "return redis.call('publish', 'sc', ARGV[1])"),
      s(2, 'EVALSHA', sha1hex("return redis.call('publish', 'sc', ARGV[1])"), '0', 'by sha'),
      s(2, 'MULTI'),
      s(2, 'EVAL', "return redis.call('publish', 'sc', 'in multi')", '0'),
      s(2, 'PUBLISH', 'sc', 'plain in multi'),
      s(2, 'EXEC'),
      s(2, 'EVAL', "redis.setresp(3) return redis.call('publish', 'sc', 'resp3 inside')", '0'),
      s(0, 'UNSUBSCRIBE'),
      s(2, 'EVAL', "return redis.call('publish', 'sc', 'pattern left')", '0'),
      s(2, 'GET', 'ps:k'),
    ],
  },
  quit_while_subscribed: {
    clients: 2,
    steps: [s(0, 'SUBSCRIBE', 'q'), s(0, 'QUIT'), s(1, 'PUBLISH', 'q', 'nobody'), s(1, 'PUBSUB', 'NUMSUB', 'q')],
  },
};

for (const proto of [2, 3] as const) {
  describe(`pub/sub is byte-identical to redis-server (RESP${proto})`, () => {
    for (const [name, sc] of Object.entries(scenarios)) {
      it(name, async () => {
        const want = await runScenario(env.diff.redis.port, sc.clients, sc.steps, proto);
        const got = await runScenario(env.raftis.port, sc.clients, sc.steps, proto, want);
        expect(render(sc.steps, got)).toEqual(render(sc.steps, want));
      });
    }
  });
}

describe('CLIENT LIST / CLIENT INFO pub/sub fields as redis-server', () => {
  /** The fields that depend on pub/sub state, from one CLIENT INFO line. */
  const fields = (line: string): string => {
    const m = /flags=(\S*) .*sub=(\d+) psub=(\d+) ssub=(\d+)/.exec(line);
    return m ? `flags=${m[1]} sub=${m[2]} psub=${m[3]} ssub=${m[4]}` : `no match: ${line}`;
  };
  for (const proto of [2, 3] as const) {
    it(`RESP${proto}: flags P, sub=, psub=, ssub= and CLIENT LIST TYPE pubsub`, async () => {
      const steps: PsStep[] = [
        s(0, 'SUBSCRIBE', 'i1', 'i2'),
        s(0, 'PSUBSCRIBE', 'i*'),
        { c: 1, cmd: ['CLIENT', 'LIST', 'TYPE', 'pubsub'], norm: fields },
        { c: 1, cmd: ['CLIENT', 'LIST', 'TYPE', 'normal'], norm: fields },
        s(0, 'UNSUBSCRIBE', 'i1'),
        { c: 1, cmd: ['CLIENT', 'LIST', 'TYPE', 'pubsub'], norm: fields },
        s(0, 'PUNSUBSCRIBE'),
        s(0, 'UNSUBSCRIBE'),
        { c: 0, cmd: ['CLIENT', 'INFO'], norm: fields },
        s(0, 'SSUBSCRIBE', 'sh1', 'sh2'),
        { c: 1, cmd: ['CLIENT', 'LIST', 'TYPE', 'pubsub'], norm: fields },
        s(0, 'SUNSUBSCRIBE', 'sh1', 'sh2'),
        { c: 0, cmd: ['CLIENT', 'INFO'], norm: fields },
        { c: 1, cmd: ['CLIENT', 'LIST', 'TYPE', 'pubsub'], norm: (f) => f },
      ];
      if (proto === 3) steps.splice(2, 0, { c: 0, cmd: ['CLIENT', 'INFO'], norm: fields });
      const want = await runScenario(env.diff.redis.port, 2, steps, proto);
      const got = await runScenario(env.raftis.port, 2, steps, proto, want);
      expect(render(steps, got)).toEqual(render(steps, want));
    });
  }
});
