/**
 * Keyspace notifications against redis-server, event for event: each
 * scenario (notifications-scripts.ts) runs on both servers with a
 * subscriber on `__key*__:*`; the events it receives (keyspace then
 * keyevent channel, in order) must be the same. A PUBLISH to a channel the
 * pattern matches marks the end, so no timing decides what is compared.
 */
import { describe, expect, it } from 'vitest';
import { frameItems, PushClient } from '../helpers/push-client.js';
import { RawClient } from '../helpers/raw-client.js';
import { useProcessDifferential } from '../helpers/process-differential.js';
import { notifyScenarios, type NotifyScenario } from './notifications-scripts.js';

const env = useProcessDifferential();
const END = '__keyspace@0__:~end';

async function record(port: number, s: NotifyScenario, proto: 2 | 3): Promise<{ replies: string[]; events: string[] }> {
  const act = await RawClient.connect(port);
  const sub = await PushClient.connect(port);
  try {
    await act.call('FLUSHALL');
    await act.call('CONFIG', 'SET', 'notify-keyspace-events', s.flags ?? 'KEA');
    for (const cmd of s.setup ?? []) await act.call(...cmd);
    if (proto === 3) await sub.call(1, 'HELLO', '3');
    await sub.call(1, 'PSUBSCRIBE', '__key*__:*');
    const replies: string[] = [];
    for (const cmd of s.cmds) replies.push(await act.call(...cmd));
    if (s.untilEmpty === true) {
      const deadline = Date.now() + 10_000;
      while ((await act.call('DBSIZE')) !== ':0\r\n' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    }
    await act.call('PUBLISH', END, 'end');
    const events: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const [f] = await sub.take(1);
      if (f === undefined) throw new Error(`no end marker; events so far: ${events.join(' | ')}`);
      const [, , channel, message] = frameItems(f);
      if (channel === END) break;
      events.push(`${channel} ${message}`);
    }
    return { replies, events };
  } finally {
    await act.call('CONFIG', 'SET', 'notify-keyspace-events', '').catch(() => {});
    act.close();
    sub.close();
  }
}

describe('keyspace notifications, compared with redis-server', () => {
  for (const [name, s] of Object.entries(notifyScenarios)) {
    it.each([2, 3] as const)(`${name} (RESP%s subscriber)`, async (proto) => {
      const want = await record(env.diff.redis.port, s, proto);
      const got = await record(env.raftis.port, s, proto);
      expect(got.replies).toEqual(want.replies);
      if (s.unordered === true) expect([...got.events].sort()).toEqual([...want.events].sort());
      else expect(got.events).toEqual(want.events);
      expect(want.events.length).toBeGreaterThan(0);
    });
  }
});
