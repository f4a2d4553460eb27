/**
 * The replicated kill at the state machine (docs/decisions.md "Killing a
 * replicated script"): a script of an entry that has run KILLABLE_AFTER
 * instructions without writing waits at its first write until a
 * KillScript(N) / ProceedScript(N) entry is committed (shown to the applier
 * ahead of its turn, committedAhead); the first one decides. A script that
 * wrote before the threshold ignores a Kill. The leader proposes Proceed
 * when its run waits, Kill on SCRIPT KILL; a follower sends SCRIPT KILL to
 * the leader.
 */
import { describe, expect, it } from 'vitest';
import { connCommands, dataCommands } from '../../../src/commands/handlers.js';
import { CommandTable } from '../../../src/commands/table.js';
import { ShardState } from '../../../src/commands/engine/shard-state.js';
import { Applier } from '../../../src/commands/engine/apply.js';
import { Config } from '../../../src/commands/engine/config.js';
import { EntryKind, encodeStateEntry } from '../../../src/commands/engine/entry.js';
import { KILL_AT_LEADER, Scripts } from '../../../src/commands/engine/scripts.js';
import { Stats } from '../../../src/commands/engine/stats.js';
import { Acl } from '../../../src/commands/engine/acl.js';
import { Databases } from '../../../src/keyspace/databases.js';
import { RespWriter } from '../../../src/server/resp-writer.js';
import { sha1hex } from '../../../src/util/lua/vm.js';
import type { Write } from '../../../src/commands/engine/write.js';

const table = new CommandTable({ data: dataCommands, conn: connCommands });
const noTouch = { wanted: () => false, touched: () => {}, flushing: () => {}, modified: () => {}, ready: () => {}, entryApplied: () => {} };
const TIME = 1_700_000_000_000;

/** ~20M instructions without writing (past KILLABLE_AFTER), then a write. */
const LATE = "local i = 0 while i < 5000000 do i = i + 1 end redis.call('set', KEYS[1], i) return i";
/** As LATE, ~100M instructions before its write (a second or so: SCRIPT KILL comes well before it stops at its write). */
const LATER = "local i = 0 while i < 25000000 do i = i + 1 end redis.call('set', KEYS[1], i) return i";
/** A write first, then the same loop. */
const EARLY = "redis.call('set', KEYS[1], 'early') local i = 0 while i < 5000000 do i = i + 1 end return i";

function replica(leader = false) {
  const scripts = new Scripts(table, new Stats(), noTouch);
  scripts.standaloneNow = () => true;
  const proposed: Array<[number, boolean]> = [];
  scripts.isLeader = () => leader;
  // As engine/script-decision.ts (one term here): Scripts asks for Proceed at
  // every turn while the script waits — once from the slice that stopped it,
  // again from each later continueApply (whether the first slice already
  // reaches the write depends on the machine's speed) —, and a Proceed is
  // proposed only while none of this node's decisions for it is in flight.
  scripts.proposeDecision = (index, kill) => {
    const prev = proposed.findLast(([i]) => i === index);
    if (!kill && prev !== undefined) return prev[1];
    proposed.push([index, kill]);
    return kill;
  };
  const dbs = new Databases(1);
  const applier = new Applier(dbs, table, new Stats(), noTouch, scripts, { config: new Config(), events: { flags: 0, emit: () => {} }, acl: new Acl(table), shards: new ShardState(undefined, dbs) });
  let index = 0;
  const w = new RespWriter(2);
  return {
    scripts,
    proposed,
    /** Applies one command as its proposer (the reply goes to w); true: the apply is paused. */
    apply(cmd: string[]): { index: number; paused: boolean } {
      const entry = { kind: EntryKind.Commands as const, time: TIME, multi: false, cmds: [cmd], standalone: true };
      const i = ++index;
      return { index: i, paused: applier.apply(i, encodeStateEntry(entry), { entry, w } as unknown as Write) === true };
    },
    /** A decision entry for script entry n, committed behind it (not applied yet). */
    ahead(n: number, kill: boolean): void {
      const i = ++index;
      applier.committedAhead(i, encodeStateEntry({ kind: kill ? EntryKind.KillScript : EntryKind.ProceedScript, time: TIME, keys: [String(n)] }));
    },
    /** continueApply until the apply is done or `stop` holds (bounded); returns whether it is done. */
    drive(stop: () => boolean = () => false, turns = 2000): boolean {
      for (let t = 0; t < turns; t++) {
        if (applier.continueApply()) return true;
        if (stop()) return false;
      }
      throw new Error('the script never ended');
    },
    reply: () => w.take(),
    get: (k: string) => dbs.get(0).get(k, TIME),
  };
}

const waiting = (r: ReturnType<typeof replica>) => (): boolean => r.scripts.busy?.waiting === true;

describe('killing a script of a log entry', () => {
  it('waits at its first write past the threshold; Proceed runs it (again) to its end, with its write', () => {
    const r = replica();
    const { index, paused } = r.apply(['EVAL', LATE, '1', 'k']);
    expect(paused).toBe(true);
    expect(r.drive(waiting(r))).toBe(false);
    // Waiting: no decision, no end, nothing written, however many turns.
    for (let t = 0; t < 20; t++) expect(r.drive(() => true)).toBe(false);
    expect(r.get('k')).toBeUndefined();
    expect(r.proposed).toEqual([]);
    r.ahead(index, false);
    // A later Kill does not count: the first decision committed after N does.
    r.ahead(index, true);
    expect(r.drive()).toBe(true);
    expect(r.reply()).toBe(':5000000\r\n');
    expect(r.get('k')).toBeDefined();
  });

  it('Kill first: stopped before any write, with Redis\'s kill error', () => {
    const r = replica();
    const { index } = r.apply(['EVAL', LATE, '1', 'k']);
    r.ahead(index, true);
    r.ahead(index, false);
    expect(r.drive()).toBe(true);
    expect(r.reply()).toBe(`-ERR Script killed by user with SCRIPT KILL... script: ${sha1hex(LATE)}, on @user_script:1.\r\n`);
    expect(r.get('k')).toBeUndefined();
  });

  it('Kill seen while it waits at its first write: it ends there', () => {
    const r = replica();
    const { index } = r.apply(['EVAL', LATE, '1', 'k']);
    expect(r.drive(waiting(r))).toBe(false);
    r.ahead(index, true);
    expect(r.drive()).toBe(true);
    expect(r.reply()).toMatch(/^-ERR Script killed by user with SCRIPT KILL\.\.\. /);
    expect(r.get('k')).toBeUndefined();
  });

  it('a script that wrote before the threshold is not killable: a Kill changes nothing', () => {
    const r = replica();
    const { index } = r.apply(['EVAL', EARLY, '1', 'k']);
    r.ahead(index, true);
    expect(r.drive()).toBe(true);
    expect(r.reply()).toBe(':5000000\r\n');
    expect(r.get('k')).toBeDefined();
  });

  it('the leader proposes Proceed when its run waits (SCRIPT KILL is too late then), Kill on SCRIPT KILL before; a follower answers KILL_AT_LEADER', () => {
    const f = replica(false);
    f.apply(['EVAL', LATE, '1', 'k']);
    expect(f.scripts.kill(false)).toBe(KILL_AT_LEADER);
    const l = replica(true);
    const { index } = l.apply(['EVAL', LATE, '1', 'k']);
    expect(l.drive(waiting(l))).toBe(false);
    expect(l.proposed).toEqual([[index, false]]);
    expect(l.scripts.kill(true)).toBe('BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.');
    expect(l.scripts.kill(false)).toMatch(/^UNKILLABLE Sorry the script already executed write commands/);
    // SCRIPT KILL while it runs, before the threshold: +OK, and the Kill is proposed before any Proceed.
    const k = replica(true);
    const second = k.apply(['EVAL', LATER, '1', 'k']);
    expect(second.paused).toBe(true);
    expect(k.scripts.kill(false)).toBeUndefined();
    expect(k.drive(waiting(k))).toBe(false);
    expect(k.proposed[0]).toEqual([second.index, true]);
  });
});
