/**
 * Keyspace notifications in-process, on a virtual clock: the events Redis
 * 7.0 emits when a write meets a key whose TTL has passed (lazy expiry:
 * "expired" first, then "new" and the command's own event), which a
 * differential test cannot time reliably; and the class filter.
 */
import { describe, expect, it } from 'vitest';
import { Notify, type KeyspaceEvents } from '../../../src/commands/notify.js';
import { Engine } from '../../helpers/engine.js';

function setup(flags: number): { e: Engine; events: string[]; tick: (ms: number) => void } {
  let now = 1_000_000;
  const events: string[] = [];
  const sink: KeyspaceEvents = { flags, emit: (event, key, db) => events.push(`${db} ${event} ${key}`) };
  const e = new Engine({ clock: () => now, events: sink });
  e.db.hooks = {
    expired(key: string) {
      if ((flags & Notify.Expired) !== 0) sink.emit('expired', key, 0);
    },
    added(key: string) {
      if ((flags & Notify.New) !== 0) sink.emit('new', key, 0);
    },
    missed() {},
  };
  return { e, events, tick: (ms) => (now += ms) };
}

const ALL = Notify.Generic | Notify.String | Notify.List | Notify.Set | Notify.Hash | Notify.Zset | Notify.Expired | Notify.New;

describe('keyspace notifications on lazy expiry', () => {
  it('a write to an expired key: expired, new, then its own event', () => {
    const { e, events, tick } = setup(ALL);
    e.call('SET', 'a', '1', 'PX', '10');
    e.call('RPUSH', 'l', 'x');
    e.call('PEXPIRE', 'l', '10');
    e.call('SET', 'c', '5', 'PX', '10');
    events.length = 0;
    tick(20);
    expect(e.call('SET', 'a', '2')).toBe('+OK\r\n');
    expect(e.call('LPUSH', 'l', 'y')).toBe(':1\r\n');
    expect(e.call('INCR', 'c')).toBe(':1\r\n');
    expect(events).toEqual(['0 expired a', '0 new a', '0 set a', '0 expired l', '0 new l', '0 lpush l', '0 expired c', '0 new c', '0 incrby c']);
  });

  it('DEL of an expired key emits only "expired"', () => {
    const { e, events, tick } = setup(ALL);
    e.call('SET', 'a', '1', 'PX', '10');
    events.length = 0;
    tick(20);
    expect(e.call('DEL', 'a')).toBe(':0\r\n');
    expect(events).toEqual(['0 expired a']);
  });

  it('emits only the classes asked for', () => {
    const { e, events } = setup(Notify.List);
    e.call('SET', 'a', '1');
    e.call('LPUSH', 'l', 'x');
    e.call('DEL', 'l');
    expect(events).toEqual(['0 lpush l']);
  });
});
