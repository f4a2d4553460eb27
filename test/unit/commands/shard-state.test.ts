/**
 * Sharding's replicated state (issue 21, phase 1) through the applier, as
 * every replica applies it: a group serves only the slots of the map it
 * adopted, RELEASE refuses slots that hold keys, and a write applied after
 * a RELEASE of its slot is refused with no effect (the race between a write
 * and a slot leaving the group is decided by log order).
 */
import { describe, expect, it } from 'vitest';
import { appliedCommands, connCommands, dataCommands } from '../../../src/commands/handlers.js';
import { CommandTable } from '../../../src/commands/table.js';
import { ShardState } from '../../../src/commands/engine/shard-state.js';
import { Applier } from '../../../src/commands/engine/apply.js';
import { readAppState } from '../../../src/commands/engine/app-state.js';
import { Config } from '../../../src/commands/engine/config.js';
import { EntryKind, encodeStateEntry } from '../../../src/commands/engine/entry.js';
import { Scripts } from '../../../src/commands/engine/scripts.js';
import { Stats } from '../../../src/commands/engine/stats.js';
import { Acl } from '../../../src/commands/engine/acl.js';
import { parseRaftInfo } from '../../../src/commands/engine/shard-router.js';
import { keyHashSlot } from '../../../src/commands/routing.js';
import { Databases } from '../../../src/keyspace/databases.js';
import { RespWriter } from '../../../src/server/resp-writer.js';
import { decodeSlotMap, emptySlotMap, encodeSlotMap, type SlotMap } from '../../../src/util/slot-map.js';
import type { Write } from '../../../src/commands/engine/write.js';

const table = new CommandTable({ data: dataCommands, conn: connCommands, applied: appliedCommands });
const noTouch = { wanted: () => false, touched: () => {}, flushing: () => {}, modified: () => {}, ready: () => {}, entryApplied: () => {} };

function replica(group: number | undefined): { apply: (...argv: string[]) => string; shards: ShardState; applier: Applier; dbs: Databases } {
  const dbs = new Databases(1);
  const shards = new ShardState(group, dbs);
  shards.redirect = (slot) => `MOVED ${slot} elsewhere:1`;
  const scripts = new Scripts(table, new Stats(), noTouch);
  scripts.servesSlot = (s) => shards.serves(s);
  scripts.movingRefuses = (db, keys, write) => shards.movingCheck(db, keys, write) !== undefined;
  const applier = new Applier(dbs, table, new Stats(), noTouch, scripts, { config: new Config(), events: { flags: 0, emit: () => {} }, acl: new Acl(table), shards });
  let index = 0;
  const apply = (...argv: string[]): string => {
    const entry = { kind: EntryKind.Commands as const, time: 1_700_000_000_000, multi: false, cmds: [argv] };
    const w = new RespWriter(2);
    applier.apply(++index, encodeStateEntry(entry), { entry, w } as unknown as Write);
    return w.take();
  };
  return { apply, shards, applier, dbs };
}

function map(epoch: number, owners: [number, number, number][]): SlotMap {
  const m = emptySlotMap();
  m.epoch = epoch;
  for (const g of new Set(owners.map((o) => o[2]))) m.groups.set(g, [{ id: g + 1, host: '127.0.0.1', port: 7000 + g, clusterPort: 17000 + g }]);
  for (const [from, to, g] of owners) m.owner.fill(g, from, to + 1);
  return m;
}

const K = 'user:1';
const S = keyHashSlot(K);

describe('a group of a sharded cluster', () => {
  it('serves no slot before it adopts a map, then the slots the map gives it', () => {
    const r = replica(1);
    expect(r.apply('SET', K, 'v')).toBe(`-MOVED ${S} elsewhere:1\r\n`);
    expect(r.dbs.get(0).size).toBe(0);
    expect(r.apply('RAFT.SHARDS', 'ADOPT', encodeSlotMap(map(1, [[0, 16383, 1]])))).toBe('+OK\r\n');
    expect(r.apply('SET', K, 'v')).toBe('+OK\r\n');
    // An older or equal map changes nothing.
    expect(r.apply('RAFT.SHARDS', 'ADOPT', encodeSlotMap(map(1, [[0, 16383, 2]])))).toBe('+OK\r\n');
    expect(r.shards.serves(S)).toBe(true);
  });

  it('refuses to release a slot that holds a key; once released, a write to it applied later is refused with no effect', () => {
    const r = replica(1);
    r.apply('RAFT.SHARDS', 'ADOPT', encodeSlotMap(map(1, [[0, 16383, 1]])));
    r.apply('SET', K, 'v');
    expect(r.apply('RAFT.SHARDS', 'RELEASE', '2', `${S}`)).toBe(`-ERR slot ${S} holds keys in group 1 (key '${K}'): move it with RAFT.SHARDS MOVE\r\n`);
    expect(r.shards.serves(S)).toBe(true);
    expect(r.apply('DEL', K)).toBe(':1\r\n');
    expect(r.apply('RAFT.SHARDS', 'RELEASE', '2', `${S - 1}-${S}`)).toBe('+OK\r\n');
    // A write proposed before the release but applied after it (log order decides).
    expect(r.apply('SET', K, 'late')).toBe(`-MOVED ${S} elsewhere:1\r\n`);
    expect(r.apply('EVAL', "return redis.call('SET', KEYS[1], 'x')", '1', K)).toBe(`-MOVED ${S} elsewhere:1\r\n`);
    // A script writing an undeclared key of that slot: not local.
    expect(r.apply('EVAL', `return redis.call('SET', '${K}', 'x')`, '0')).toMatch(/^-ERR Script attempted to access a non local key in a cluster node/);
    expect(r.dbs.get(0).size).toBe(0);
    expect(r.shards.pendingReleases()).toBe(2);
    // Other slots are served as before.
    expect(r.apply('SET', 'other', '1')).toBe('+OK\r\n');
    // The map of epoch 2 gives the slot to group 2: still not served, nothing pending.
    r.apply('RAFT.SHARDS', 'ADOPT', encodeSlotMap(map(2, [[0, S - 1, 1], [S, S, 2], [S + 1, 16383, 1]])));
    expect(r.shards.serves(S)).toBe(false);
    expect(r.shards.serves(S - 1)).toBe(true);
    expect(r.shards.pendingReleases()).toBe(0);
  });

  it('serves a released slot again under a map of the release’s epoch that still gives it the slot (the change was abandoned)', () => {
    const r = replica(1);
    r.apply('RAFT.SHARDS', 'ADOPT', encodeSlotMap(map(1, [[0, 16383, 1]])));
    expect(r.apply('RAFT.SHARDS', 'RELEASE', '2', `${S}`)).toBe('+OK\r\n');
    expect(r.shards.serves(S)).toBe(false);
    r.apply('RAFT.SHARDS', 'ADOPT', encodeSlotMap(map(2, [[0, 16383, 1]])));
    expect(r.shards.serves(S)).toBe(true);
  });

  it('keeps its sharding state in snapshots; a single group’s snapshots have no such section', () => {
    const r = replica(1);
    r.apply('RAFT.SHARDS', 'ADOPT', encodeSlotMap(map(3, [[0, 8191, 1], [8192, 16383, 2]])));
    r.apply('RAFT.SHARDS', 'RELEASE', '4', '10-20');
    const snap = r.applier.snapshotState();
    const other = replica(1);
    other.applier.restored(snap);
    for (const s of [0, 10, 20, 21, 8191, 8192]) expect(other.shards.serves(s)).toBe(r.shards.serves(s));
    expect(other.shards.adopted.epoch).toBe(3);
    expect(readAppState(replica(undefined).applier.snapshotState()).has('shards')).toBe(false);
    // A snapshot without the section (taken before any RAFT.SHARDS entry) resets the state.
    other.applier.restored(replica(undefined).applier.snapshotState());
    expect(other.shards.adopted.epoch).toBe(0);
    expect(other.shards.serves(0)).toBe(false);
  });

  it('group 0 commits a map only on the epoch it expects, and adopts it at the same position', () => {
    const r = replica(0);
    const m1 = map(1, [[0, 16383, 0]]);
    expect(r.apply('RAFT.SHARDS', 'SETMAP', '0', encodeSlotMap(m1))).toBe('+OK\r\n');
    expect(r.shards.map.epoch).toBe(1);
    expect(r.shards.serves(5)).toBe(true);
    expect(r.apply('RAFT.SHARDS', 'SETMAP', '0', encodeSlotMap(map(1, [[0, 16383, 0]])))).toBe(
      '-ERR the slot map changed meanwhile (configuration 1, expected 0); retry\r\n',
    );
    // Another group never commits a map.
    expect(replica(1).apply('RAFT.SHARDS', 'SETMAP', '0', encodeSlotMap(m1))).toBe('-ERR RAFT.SHARDS SETMAP runs only in group 0 (the configuration group)\r\n');
  });

  it('a single group (no --group) serves every slot', () => {
    const r = replica(undefined);
    expect(r.apply('SET', K, 'v')).toBe('+OK\r\n');
    expect(r.shards.serves(0) && r.shards.serves(16383)).toBe(true);
  });
});

/** A map of epoch `epoch` whose owners are `owners`, with slot ranges moving to other groups. */
function movingMap(epoch: number, owners: [number, number, number][], moving: [number, number, number][]): SlotMap {
  const m = map(epoch, [...owners, ...moving.map(([f, t, g]): [number, number, number] => [f, t, g])]);
  for (const [from, to, g] of owners) m.owner.fill(g, from, to + 1);
  for (const [from, to, g] of moving) m.target.fill(g, from, to + 1);
  return m;
}

describe('a slot moving between groups (phase 2)', () => {
  // Group 1 owns every slot; slot S moves to group 2.
  const before = map(1, [[0, 16383, 1]]);
  before.groups.set(2, [{ id: 3, host: '127.0.0.1', port: 7002, clusterPort: 17002 }]);
  const moving = movingMap(2, [[0, 16383, 1]], [[S, S, 2]]);
  const K2 = `{${K}}:2`;
  const K3 = `{${K}}:3`;

  function source(): ReturnType<typeof replica> {
    const r = replica(1);
    r.shards.ask = (slot, target) => `ASK ${slot} group${target}:1`;
    r.apply('RAFT.SHARDS', 'ADOPT', encodeSlotMap(before));
    return r;
  }

  it('the map says which slots move where, and keeps phase 1 JSON when none does', () => {
    expect(encodeSlotMap(before)).not.toContain('moving');
    const text = encodeSlotMap(moving);
    expect(JSON.parse(text).moving).toEqual([[S, S, 2]]);
    const back = decodeSlotMap(text);
    expect(typeof back !== 'string' && back.target[S]).toBe(2);
    const bad = JSON.parse(text);
    bad.moving = [[S, S, 1]];
    expect(decodeSlotMap(JSON.stringify(bad))).toBe(`slot map: slot ${S} moves but has no other owner`);
  });

  it('the source serves keys it has, answers ASK for keys it has not and creates none, TRYAGAIN for keys partly here', () => {
    const r = source();
    r.apply('SET', K, 'v');
    r.apply('RAFT.SHARDS', 'ADOPT', encodeSlotMap(moving));
    expect(r.apply('SET', K, 'w')).toBe('+OK\r\n');
    expect(r.apply('SET', K2, 'new')).toBe(`-ASK ${S} group2:1\r\n`);
    expect(r.dbs.get(0).peek(K2)).toBeUndefined();
    expect(r.apply('MSET', K, 'a', K2, 'b')).toBe('-TRYAGAIN Multiple keys request during rehashing of slot\r\n');
    // A script reaching a key it did not declare: served when it is here, never created here.
    expect(r.apply('EVAL', `return redis.call('GET', '${K}')`, '0')).toBe('$1\r\nw\r\n');
    expect(r.apply('EVAL', `return redis.call('SET', '${K2}', 'x')`, '0')).toMatch(/^-ERR Script attempted to access a non local key in a cluster node/);
    expect(r.dbs.get(0).peek(K2)).toBeUndefined();
    expect(r.apply('DEL', K)).toBe(':1\r\n');
    // Gone here: the key now lives (or will be created) in the new group.
    expect(r.apply('SET', K, 'again')).toBe(`-ASK ${S} group2:1\r\n`);
    // Other slots as before.
    expect(r.apply('SET', 'other', '1')).toBe('+OK\r\n');
  });

  it('a frozen key is read but not written; SHIPPED deletes it and it gets ASK', () => {
    const r = source();
    r.apply('SET', K, 'v');
    r.apply('SET', K2, 'v2');
    r.apply('RAFT.SHARDS', 'ADOPT', encodeSlotMap(moving));
    // Only present keys of moving slots are frozen.
    expect(r.apply('RAFT.SHARDS', 'FREEZE', '0', K, K3, 'other')).toBe(':1\r\n');
    expect(r.apply('SET', K, 'x')).toBe("-TRYAGAIN key is being moved to the slot's new group; retry shortly\r\n");
    // A script may write its keys: refused the same way.
    expect(r.apply('EVAL', "return redis.call('SET', KEYS[1], 'x')", '1', K)).toBe("-TRYAGAIN key is being moved to the slot's new group; retry shortly\r\n");
    expect(r.apply('GET', K)).toBe('$1\r\nv\r\n');
    expect(r.apply('GET', K2)).toBe('$2\r\nv2\r\n');
    expect(r.apply('SET', K2, 'y')).toBe('+OK\r\n');
    expect(r.shards.frozenKeys()).toEqual([[0, [K]]]);
    // Kept in snapshots, so a new leader finds what is left to ship.
    const other = replica(1);
    other.applier.restored(r.applier.snapshotState());
    expect(other.shards.frozenKeys()).toEqual([[0, [K]]]);
    expect(r.apply('RAFT.SHARDS', 'SHIPPED', '0', K, K2)).toBe(':1\r\n');
    expect(r.dbs.get(0).peek(K)).toBeUndefined();
    expect(r.dbs.get(0).peek(K2)).toBeDefined();
    expect(r.shards.frozenKeys()).toEqual([]);
    expect(r.apply('GET', K)).toBe(`-ASK ${S} group2:1\r\n`);
    // The end of the move: the last key leaves, the slot is released (phase 1's path).
    expect(r.apply('RAFT.SHARDS', 'RELEASE', '3', `${S}`)).toBe(`-ERR slot ${S} holds keys in group 1 (key '${K2}'): move it with RAFT.SHARDS MOVE\r\n`);
    r.apply('RAFT.SHARDS', 'FREEZE', '0', K2);
    r.apply('RAFT.SHARDS', 'SHIPPED', '0', K2);
    expect(r.apply('RAFT.SHARDS', 'RELEASE', '3', `${S}`)).toBe('+OK\r\n');
    expect(r.shards.serves(S)).toBe(false);
  });

  it('the target imports only for a slot moving into it, never replaces a key, skips expired ones, and refuses an older source term', () => {
    const src = source();
    src.apply('SET', K, 'v');
    src.apply('HSET', K2, 'f', '1');
    src.apply('SET', K3, 'gone', 'PXAT', String(1_700_000_000_000 + 10));
    const dump = (k: string): string => {
      const reply = src.apply('DUMP', k);
      return reply.slice(reply.indexOf('\r\n') + 2, -2);
    };
    const items = [K, '0', dump(K), K2, String(1_700_000_500_000), dump(K2)];
    const t = replica(2);
    t.apply('RAFT.SHARDS', 'ADOPT', encodeSlotMap(before));
    expect(t.apply('RAFT.SHARDS', 'IMPORT', '1', '5', '0', ...items)).toMatch(/^-TRYAGAIN slot \d+ is not moving from group 1 to group 2/);
    t.apply('RAFT.SHARDS', 'ADOPT', encodeSlotMap(moving));
    // Not served to clients without ASKING (the dispatcher answers MOVED), but IMPORT and ASKING writes apply.
    expect(t.shards.serves(S)).toBe(false);
    expect(t.shards.importing(S)).toBe(true);
    expect(t.apply('RAFT.SHARDS', 'IMPORT', '1', '5', '0', ...items)).toBe(':2\r\n');
    expect(t.apply('GET', K)).toBe('$1\r\nv\r\n');
    expect(t.apply('PEXPIRETIME', K2)).toBe(':1700000500000\r\n');
    expect(t.apply('HGET', K2, 'f')).toBe('$1\r\n1\r\n');
    // Written after the import (an ASKING client): a second import of the same keys changes nothing.
    t.apply('SET', K, 'newer');
    expect(t.apply('RAFT.SHARDS', 'IMPORT', '1', '6', '0', ...items)).toBe(':0\r\n');
    expect(t.apply('GET', K)).toBe('$5\r\nnewer\r\n');
    // A deposed source leader's late call: refused whole.
    t.apply('DEL', K);
    expect(t.apply('RAFT.SHARDS', 'IMPORT', '1', '5', '0', ...items)).toMatch(/^-ERR IMPORT from group 1's term 5 refused/);
    expect(t.dbs.get(0).peek(K)).toBeUndefined();
    // Expired at the entry's time: not created.
    expect(t.apply('RAFT.SHARDS', 'IMPORT', '1', '6', '0', K3, String(1_700_000_000_000 - 1), dump(K3))).toBe(':0\r\n');
    // A bad payload: nothing applied.
    expect(t.apply('RAFT.SHARDS', 'IMPORT', '1', '6', '0', K, '0', 'junk')).toBe('-ERR Bad data format\r\n');
    // Fences survive a snapshot.
    const other = replica(2);
    other.applier.restored(t.applier.snapshotState());
    expect(other.apply('RAFT.SHARDS', 'IMPORT', '1', '5', '0', ...items)).toMatch(/^-ERR IMPORT from group 1's term 5 refused/);
  });
});

describe('RAFT.INFO as the router reads it', () => {
  it('gives the leader and the members with their addresses, joining nodes left out', () => {
    const text =
      '# Raft\r\nnode_id:2\r\nleader:3\r\nmember_1:role=voter,addr=127.0.0.1:7001,cluster_addr=127.0.0.1:17001\r\n' +
      'member_3:role=learner,addr=10.0.0.3:7003,cluster_addr=10.0.0.3:9003\r\nmember_4:role=joining,addr=h:1,cluster_addr=h:2\r\n' +
      'peer_1:id=1,addr=127.0.0.1:7001,cluster_addr=127.0.0.1:17001,connected=yes\r\n';
    expect(parseRaftInfo(text.replace('leader:3', 'term:7\r\nleader:3'))).toEqual({
      leader: 3,
      term: 7,
      members: [
        { id: 1, host: '127.0.0.1', port: 7001, clusterPort: 17001 },
        { id: 3, host: '10.0.0.3', port: 7003, clusterPort: 9003 },
      ],
    });
  });
});
