/**
 * A plain SET applied from its entry's bytes (Applier.applyPlainSet,
 * Keyspace.replaceFromBytes) leaves exactly the state and reply the usual
 * path leaves: the same entries applied to a replica that takes the byte
 * path and to one made to decode them (a keyspace-event flag that SET never
 * emits turns the byte path off) give the same values, key order, used
 * memory, dirty count, calls and replies. plainSetOf takes only the entries
 * it may.
 */
import { describe, expect, it } from 'vitest';
import { connCommands, dataCommands } from '../../../src/commands/handlers.js';
import { CommandTable } from '../../../src/commands/table.js';
import { ShardState } from '../../../src/commands/engine/shard-state.js';
import { Applier } from '../../../src/commands/engine/apply.js';
import { Config } from '../../../src/commands/engine/config.js';
import { EntryKind, PLAIN_MADE, PLAIN_SET, encodePlainSet, encodeStateEntry, plainSetOf, type CommandEntry } from '../../../src/commands/engine/entry.js';
import { Scripts } from '../../../src/commands/engine/scripts.js';
import { Stats } from '../../../src/commands/engine/stats.js';
import { Acl } from '../../../src/commands/engine/acl.js';
import { Databases } from '../../../src/keyspace/databases.js';
import { RespWriter } from '../../../src/server/resp-writer.js';
import { Notify } from '../../../src/commands/notify.js';
import { createPrng } from '../../../src/util/prng.js';
import { Write } from '../../../src/commands/engine/write.js';

const noTouch = { wanted: () => false, touched: () => {}, flushing: () => {}, modified: () => {}, ready: () => {}, entryApplied: () => {} };
const TIME = 1_700_000_000_000;

function replica(bytePath: boolean) {
  const table = new CommandTable({ data: dataCommands, conn: connCommands });
  const stats = new Stats();
  const dbs = new Databases(4);
  const scripts = new Scripts(table, stats, noTouch);
  // KeyMiss: an event SET never emits, so only the path differs.
  const events = { flags: bytePath ? 0 : Notify.KeyMiss, emit: () => {} };
  const applier = new Applier(dbs, table, stats, noTouch, scripts, { config: new Config(), events, acl: new Acl(table), shards: new ShardState(undefined, dbs) });
  let index = 0;
  return {
    dbs,
    applier,
    table,
    stats,
    /**
     * Applies, as its proposer, a `SET key value` made as Dispatcher.plainSet makes it: the entry
     * copied from request bytes (encodePlainSet), read where it was made (plainView), decoded only
     * if the apply needs it (Write.entry). Returns the reply.
     */
    applyFromBytes(argv: readonly [string, string, string], db: number, standalone: boolean, time: number): string {
      const w = new RespWriter(2);
      const req = Buffer.from(`*3\r\n$3\r\n${argv[0]}\r\n$${argv[1].length}\r\n${argv[1]}\r\n$${argv[2].length}\r\n${argv[2]}\r\n`, 'latin1');
      const nameAt = 8;
      const keyAt = req.indexOf('\r\n', nameAt + 5) + 2;
      const valueAt = req.indexOf('\r\n', keyAt + argv[1].length + 3) + 2;
      const data = encodePlainSet(time, db, standalone, req, nameAt, keyAt, keyAt + argv[1].length, valueAt, valueAt + argv[2].length);
      const p = new BytesWrite(undefined, w, data);
      p.plainView = PLAIN_MADE.view;
      p.plainAt = PLAIN_MADE.at;
      applier.apply(++index, data, p);
      return w.take();
    },
    /** Applies the entry as its proposer (mine: the reply) or as a follower; returns the reply. */
    apply(entry: CommandEntry, mine: boolean): string {
      const w = new RespWriter(2);
      applier.apply(++index, encodeStateEntry(entry), mine ? ({ entry, w } as unknown as Write) : undefined);
      return mine ? w.take() : '';
    },
  };
}

/** A proposal as the dispatcher's fast path makes it: bytes only, its entry decoded on demand. */
class BytesWrite extends Write<CommandEntry> {
  settle(): void {}
}

function state(r: ReturnType<typeof replica>): unknown {
  const out: unknown[] = [];
  for (let db = 0; db < 4; db++) {
    const ks = r.dbs.get(db);
    const keys = [...ks.keys()];
    out.push({ keys, values: keys.map((k) => ks.get(k, TIME)), memory: ks.usedMemory(), ttl: keys.map((k) => ks.expireAt(k)) });
  }
  return { out, changes: r.applier.changes, calls: r.table.get('set')!.stats.calls };
}

function str(r: () => number, min: number, max: number, alphabet: string): string {
  const n = min + Math.floor(r() * (max - min + 1));
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

describe('a plain SET applied from its bytes', () => {
  it('leaves the state and replies of the usual path, on the proposer and on followers', () => {
    const [a, b] = [replica(true), replica(false)];
    const r = createPrng(19);
    const binary = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');
    const keys = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? str(r, 0, 70, binary) : `key:${i}`));
    for (let i = 0; i < 3000; i++) {
      const key = keys[Math.floor(r() * keys.length)]!;
      const pick = r();
      // Mostly plain SETs of short non-integer values; some integers, long values, other commands and shapes.
      let argv: string[];
      if (pick < 0.6) argv = [['SET', 'set', 'sEt'][i % 3]!, key, str(r, 1, 20, 'abcxyz' + binary.slice(128, 140))];
      else if (pick < 0.65) argv = ['SET', key, String(Math.floor(r() * 1000) - 500)];
      else if (pick < 0.7) argv = ['SET', key, str(r, 60, 70, 'ab')];
      else if (pick < 0.73) argv = ['SET', key, ''];
      else if (pick < 0.76) argv = ['SET', key, 'v', 'PX', '100000'];
      else if (pick < 0.78) argv = ['PERSIST', key];
      else if (pick < 0.82) argv = ['DEL', key];
      else if (pick < 0.86) argv = ['LPUSH', key, 'x'];
      else if (pick < 0.9) argv = ['APPEND', key, 'zz'];
      else argv = ['SETEX', key, '100', 'v'];
      const db = pick < 0.5 ? 0 : Math.floor(r() * 4);
      const entry: CommandEntry = { kind: EntryKind.Commands, time: TIME + i, multi: false, cmds: [argv], ...(db !== 0 ? { db } : {}), ...(i % 2 === 0 ? { standalone: true } : {}) };
      const mine = r() < 0.5;
      expect(a.apply(entry, mine)).toBe(b.apply(entry, mine));
    }
    // FLUSHALL empties the TTLs, so that the byte path also runs over a table that had keys removed.
    a.apply({ kind: EntryKind.Commands, time: TIME, multi: false, cmds: [['FLUSHALL']] }, false);
    b.apply({ kind: EntryKind.Commands, time: TIME, multi: false, cmds: [['FLUSHALL']] }, false);
    for (let i = 0; i < 2000; i++) {
      const entry: CommandEntry = { kind: EntryKind.Commands, time: TIME + i, multi: false, cmds: [['SET', keys[i % keys.length]!, str(r, 1, 64, 'qrs')]] };
      expect(a.apply(entry, true)).toBe(b.apply(entry, true));
    }
    expect(state(a)).toEqual(state(b));
  });

  it('an entry made from request bytes (the fast path of the proposer) leaves what the decoding path leaves', () => {
    const [a, b] = [replica(true), replica(false)];
    const r = createPrng(29);
    const binary = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');
    const keys = Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? str(r, 0, 70, binary) : `key:${i}`));
    for (let i = 0; i < 3000; i++) {
      const key = keys[Math.floor(r() * keys.length)]!;
      const db = r() < 0.5 ? 0 : Math.floor(r() * 4);
      const standalone = r() < 0.5;
      const time = TIME + i;
      const pick = r();
      if (pick < 0.75) {
        // SET from bytes, in every shape the parser offers: values the apply takes from bytes and ones it decodes for (integers, empty, long).
        const value = pick < 0.5 ? str(r, 1, 24, 'abcxyz' + binary.slice(128, 140)) : pick < 0.6 ? String(Math.floor(r() * 1000) - 500) : pick < 0.65 ? '' : pick < 0.7 ? str(r, 60, 90, 'ab') : '-' + str(r, 0, 3, 'x');
        const argv = [['SET', 'set', 'sEt'][i % 3]!, key, value] as const;
        const entry: CommandEntry = { kind: EntryKind.Commands, time, multi: false, cmds: [[...argv]], ...(db !== 0 ? { db } : {}), ...(standalone ? { standalone: true } : {}) };
        expect(a.applyFromBytes(argv, db, standalone, time)).toBe(b.apply(entry, true));
      } else {
        // What makes the byte path of the apply step aside: TTLs, other types; and other writes.
        const argv = pick < 0.8 ? ['SET', key, 'v', 'PX', '100000'] : pick < 0.85 ? ['LPUSH', key, 'x'] : pick < 0.9 ? ['PERSIST', key] : pick < 0.95 ? ['DEL', key] : ['APPEND', key, 'zz'];
        const entry: CommandEntry = { kind: EntryKind.Commands, time, multi: false, cmds: [argv], ...(db !== 0 ? { db } : {}) };
        const mine = r() < 0.5;
        expect(a.apply(entry, mine)).toBe(b.apply(entry, mine));
      }
    }
    expect(state(a)).toEqual(state(b));
  });

  it('counts its calls and times as the usual path does, and SLOWLOG keeps its arguments', () => {
    const [a, b] = [replica(true), replica(false)];
    for (const r of [a, b]) {
      r.stats.slowlog.slowerThan = 0;
      r.stats.slowlog.maxLen = 1000;
    }
    for (let i = 0; i < 200; i++) {
      const entry: CommandEntry = { kind: EntryKind.Commands, time: TIME + i, multi: false, cmds: [[i % 2 ? 'SET' : 'set', `k${i % 7}`, `v\xff${i}`]], standalone: true };
      expect(a.apply(entry, i % 3 === 0)).toBe(b.apply(entry, i % 3 === 0));
    }
    const calls = (r: ReturnType<typeof replica>): unknown => {
      const c = r.table.get('set')!.stats;
      return [c.calls, c.timed, c.failedCalls];
    };
    expect(calls(a)).toEqual([200, 200, 0]);
    expect(calls(b)).toEqual(calls(a));
    const logged = (r: ReturnType<typeof replica>): unknown => r.stats.slowlog.newest(-1).map((e) => e.argv);
    expect(logged(a)).toHaveLength(200);
    expect(logged(a)).toEqual(logged(b));
    expect(state(a)).toEqual(state(b));
  });

  it('reads only single plain SETs with an inline key and a short non-integer value', () => {
    const e = (cmds: string[][], extra: Partial<CommandEntry> = {}): Buffer => encodeStateEntry({ kind: EntryKind.Commands, time: 5, multi: false, cmds, ...extra });
    expect(plainSetOf(e([['SET', 'k', 'v']]))).toBe(true);
    expect({ ...PLAIN_SET, view: undefined }).toEqual({ view: undefined, time: 5, standalone: false, db: 0, keyStart: 29, keyLength: 1, valueStart: 34, valueLength: 1 });
    // A group of one voter's entries carry the standalone flag (for scripts).
    expect(plainSetOf(e([['SET', 'k', 'v']], { standalone: true, db: 2 }))).toBe(true);
    expect([PLAIN_SET.standalone, PLAIN_SET.db]).toEqual([true, 2]);
    expect(plainSetOf(e([['set', 'k'.repeat(64), 'v'.repeat(64)]], { db: 3 }))).toBe(true);
    expect(PLAIN_SET.db).toBe(3);
    expect(plainSetOf(e([['SeT', '', 'x']]))).toBe(true);
    for (const bad of [
      e([['SET', 'k', '1']]),
      e([['SET', 'k', '-x']]),
      e([['SET', 'k', '']]),
      e([['SET', 'k'.repeat(65), 'v']]),
      e([['SET', 'k', 'v'.repeat(65)]]),
      e([['SET', 'k', 'v', 'NX']]),
      e([['SETX', 'k', 'v']]),
      e([['SEU', 'k', 'v']]),
      e([['GET', 'k']]),
      e([['SET', 'k', 'v'], ['SET', 'k', 'w']]),
      e([['SET', 'k', 'v']], { multi: true }),
      e([['SET', 'k', 'v']], { user: 'u' }),
      e([['SET', 'k', 'v']], { oom: true }),
      e([['SET', 'k', 'v']], { served: true }),
      encodeStateEntry({ kind: EntryKind.ExpireKeys, time: 5, keys: ['k'] }),
    ]) {
      expect(plainSetOf(bad)).toBe(false);
    }
    // A damaged entry is left to the decoder (which reports it).
    const b = e([['SET', 'k', 'v']]);
    for (let cut = 0; cut < b.length; cut++) expect(plainSetOf(b.subarray(0, cut))).toBe(false);
  });
});
