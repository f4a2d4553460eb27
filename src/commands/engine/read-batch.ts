/**
 * A leader's plain reads (GET, MGET, HGET…: a data read that is not a
 * script) waiting for their ReadIndex round, a turn's reads as one batch:
 * one callback queued with the node (RaftisNode.readBarrier) for all of
 * them, one reply slot per client for its consecutive reads, and no
 * closure per read. When the round confirms this node still leads, the
 * batch is served in one pass: each read runs as it would have at once,
 * into the client's own writer when nothing before it waits (values copied
 * as bytes, as an immediate read's are), with its key's note put back
 * (util/key-hash.ts KeyNotes: the parser's hash and words, so the lookup
 * does not read the key's chars again).
 *
 * Linearizable as the read-per-callback form was: a read joins the batch
 * only while the batch's callback has not been sent to the core yet
 * (RaftisNode.readTurn has not moved since the batch was queued), so the
 * round that serves it is started after it arrived and its read index is
 * the commit index at that start or later; a client's reads run after its
 * own writes are applied (its lastWriteIndex), each client's in the order
 * sent. Reads of other kinds (scripts, tracked reads, a sharded group's,
 * a reply slot reserved already) take Dispatcher.read's general path.
 */
import type { Slot } from '../../server/client.js';
import type { EngineClient as Client } from './engine.js';
import type { Engine } from './engine.js';
import type { RespWriter } from '../../server/resp-writer.js';
import type { CommandDef } from '../table.js';
import type { Ctx } from '../types.js';
import type { Databases } from '../../keyspace/databases.js';
import { NOW_UNREAD, type Keyspace } from '../../keyspace/keyspace.js';
import { KeyNotes } from '../../util/key-hash.js';
import { callData } from './call.js';
import { CLUSTERDOWN_NO_LEADER } from '../routing.js';

export const TRYAGAIN_LOST_READ = 'TRYAGAIN leadership changed before this read could be confirmed; retry it';

/** A group waits for its client's writes to be applied (or for the round). */
const WAITING = 0;
/** A group is being served in this pass. */
const SERVING = 1;
/** A group gets the error of a round that failed. */
const REFUSED = 2;
/** A group is answered. */
const DONE = 3;

/** A client's consecutive reads in a batch: one reply slot, the database, user and writes they follow. */
class ReadGroup {
  c: Client | undefined = undefined;
  w: Slot | undefined = undefined;
  db: Keyspace | undefined = undefined;
  dbIndex = 0;
  user: string | undefined = undefined;
  /** The client's last write when its reads were sent: they run once it is applied. */
  after = 0;
  state = WAITING;
  /** Its reads: [first, end) of the batch's (a read joins only the batch's last group, so a group's reads are consecutive). */
  first = 0;
  end = 0;
}

/** The reads of one ReadIndex request, in the order they arrived. */
class ReadBatch {
  /** RaftisNode.readTurn when the batch was queued: reads join while it has not moved. */
  turn = 0;
  /** Groups in use: groups[0, used). */
  readonly groups: ReadGroup[] = [];
  used = 0;
  /** Reads in the batch: [0, n) of the arrays below (kept at their size: stored by index, no push or regrowth). */
  n = 0;
  /** Per read: its command, arguments, and its key's note (-1: none). */
  readonly defs: (CommandDef | undefined)[] = [];
  readonly argvs: (string[] | undefined)[] = [];
  readonly notes: number[] = [];
  readonly keyNotes = new KeyNotes();
  /** The round's answer (RaftisNode.readBarrier's callback). */
  readonly confirmed: (ok: boolean) => void;
  /** Serves the groups whose writes have been applied since (RaftisNode.whenApplied's callback). */
  readonly resume: () => void;

  constructor(owner: DeferredReads) {
    this.confirmed = (ok) => owner.confirmed(this, ok);
    this.resume = () => owner.serve(this);
  }

  /** A group for client `c`'s reads from slot `w` on. */
  group(c: Client, w: Slot, db: Keyspace, dbIndex: number, user: string | undefined, after: number): ReadGroup {
    let g = this.groups[this.used];
    if (g === undefined) {
      g = new ReadGroup();
      this.groups.push(g);
    }
    this.used++;
    g.c = c;
    g.w = w;
    g.db = db;
    g.dbIndex = dbIndex;
    g.user = user;
    g.after = after;
    g.state = WAITING;
    g.first = this.n;
    return g;
  }

  /** Forgets the reads (nothing of them is kept alive by a batch waiting for reuse). */
  clear(): void {
    for (let i = 0; i < this.used; i++) {
      const g = this.groups[i]!;
      g.c = undefined;
      g.w = undefined;
      g.db = undefined;
    }
    this.used = 0;
    const argvs = this.argvs;
    for (let i = 0; i < this.n; i++) argvs[i] = undefined;
    this.n = 0;
    this.keyNotes.clear();
  }
}

/** Batches kept for reuse at most. */
const FREE_MAX = 4;

export class DeferredReads {
  /** The batch reads join (its callback not sent yet, unless readTurn moved). */
  private open: ReadBatch | undefined = undefined;
  private readonly free: ReadBatch[] = [];
  /** Reused by every read served (handlers never keep their ctx). */
  private readonly ctx: Ctx = { db: undefined as unknown as Keyspace, dbIndex: 0, dbs: undefined as unknown as Databases, now: 0, index: 0, w: undefined as unknown as RespWriter };

  constructor(
    private readonly server: Engine,
    /** cluster-allow-reads-when-down is yes. */
    private readonly readsWhenDown: () => boolean,
    /** Called after a read's handler when a script read left its body uncached (Dispatcher's scriptCaching.afterRead). */
    private readonly afterRead: (c: Client) => void,
  ) {}

  /** Queues a plain read of client c (the leader of a group with peers) for the next ReadIndex round. */
  add(c: Client, def: CommandDef, argv: string[]): void {
    const node = this.server.node;
    const turn = node.readTurn;
    let b = this.open;
    const fresh = b === undefined || b.turn !== turn;
    if (fresh) {
      b = this.free.pop() ?? new ReadBatch(this);
      b.turn = turn;
      this.open = b;
    }
    const batch = b!;
    const db = c.db;
    const dbIndex = c.dbIndex;
    const user = c.user.allowsAll ? undefined : c.user.name;
    const after = c.lastWriteIndex;
    let g = fresh ? undefined : batch.groups[batch.used - 1]!;
    const prev = g !== undefined && g.c === c && g.db === db && g.dbIndex === dbIndex && g.user === user && g.after === after ? g.w : undefined;
    const w = c.deferAfter(prev);
    if (w !== prev) {
      g = batch.group(c, w, db, dbIndex, user, after);
      // Nothing the client sent after this read may run before it (plain reads join it: Dispatcher.mayPassHold).
      c.hold(w);
    }
    const i = batch.n++;
    g!.end = i + 1;
    const key = argv[1];
    const note = key === undefined ? -1 : batch.keyNotes.keep(key);
    if (i < batch.argvs.length) {
      batch.defs[i] = def;
      batch.argvs[i] = argv;
      batch.notes[i] = note;
    } else {
      batch.defs.push(def);
      batch.argvs.push(argv);
      batch.notes.push(note);
    }
    if (fresh) node.readBarrier(batch.confirmed);
  }

  /** The batch's round answered: serve it, or refuse it (this node could not confirm it leads). */
  confirmed(b: ReadBatch, ok: boolean): void {
    if (this.open === b) this.open = undefined;
    if (ok) return this.serve(b);
    const node = this.server.node;
    const down = node.leader === 0 && this.readsWhenDown();
    for (let i = 0; i < b.used; i++) {
      const g = b.groups[i]!;
      if (g.state !== WAITING) continue;
      // A leader that lost its quorum: with cluster-allow-reads-when-down, its state as it is
      // (not when the client's own write is not applied: it may never be).
      g.state = down && g.after <= node.appliedIndex ? SERVING : REFUSED;
    }
    this.pass(b, node.leader === 0 ? CLUSTERDOWN_NO_LEADER : TRYAGAIN_LOST_READ);
    this.recycle(b);
  }

  /** Serves the groups whose client's writes are applied; the others wait for theirs. */
  serve(b: ReadBatch): void {
    const applied = this.server.node.appliedIndex;
    let next = Infinity;
    let serving = false;
    for (let i = 0; i < b.used; i++) {
      const g = b.groups[i]!;
      if (g.state !== WAITING) continue;
      if (g.after <= applied) {
        g.state = SERVING;
        serving = true;
      } else if (g.after < next) next = g.after;
    }
    if (serving) this.pass(b, '');
    if (next !== Infinity) this.server.node.whenApplied(next, b.resume);
    else this.recycle(b);
  }

  /** Runs the reads of the groups SERVING (REFUSED: answers `refusal`), in order, and completes their slots. */
  private pass(b: ReadBatch, refusal: string): void {
    const { stats, scripts, dbs } = this.server;
    const ctx = this.ctx;
    ctx.dbs = dbs;
    ctx.scripts = scripts;
    const { groups, defs, argvs, notes, keyNotes } = b;
    const used = b.used;
    for (let k = 0; k < used; k++) {
      const g = groups[k]!;
      const state = g.state;
      if (state !== SERVING && state !== REFUSED) continue;
      const c = g.c!;
      const out = c.writerFor(g.w!);
      const end = g.end;
      if (state === REFUSED) {
        for (let i = g.first; i < end; i++) out.error(refusal);
        continue;
      }
      ctx.db = g.db!;
      ctx.dbIndex = g.dbIndex;
      ctx.w = out;
      ctx.user = g.user;
      for (let i = g.first; i < end; i++) {
        const def = defs[i]!;
        const argv = argvs[i]!;
        const note = notes[i]!;
        if (note >= 0) keyNotes.bring(note, argv[1]!);
        // GET reads the clock only for a key with a TTL (CommandDef.lazyNow).
        ctx.now = def.lazyNow ? NOW_UNREAD : Date.now();
        callData(stats, def, def.data!, ctx, argv, c);
        if (scripts.uncachedRead !== undefined) this.afterRead(c);
      }
    }
    for (let k = 0; k < used; k++) {
      const g = groups[k]!;
      if (g.state !== SERVING && g.state !== REFUSED) continue;
      g.state = DONE;
      g.c!.complete(g.w!);
    }
  }

  private recycle(b: ReadBatch): void {
    b.clear();
    if (this.free.length < FREE_MAX) this.free.push(b);
  }
}
