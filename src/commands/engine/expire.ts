/**
 * Active expiry (Redis's activeExpireCycle), leader only: walk the keys
 * that carry a TTL a slice at a time and propose the deletion of those that
 * expired. The delete is conditional at apply time (Keyspace.deleteIfExpired
 * with the entry's time), so a key re-set in between survives, and every
 * replica deletes the same keys. One such entry is in flight at a time.
 * The server cron (cron.ts) runs a cycle `hz` times a second.
 */
import type { Databases } from '../../keyspace/databases.js';
import type { Outcome, RaftisNode } from '../../node/node.js';
import { DISCARD } from '../../server/resp-writer.js';
import { EntryKind, type ExpireEntry } from './entry.js';
import { Write } from './write.js';

/** Keys looked at, and expired keys proposed, per cycle at most (with active-expire-effort 1). */
const LOOK_PER_CYCLE = 1000;
const DELETE_PER_CYCLE = 200;

/**
 * active-expire-effort (1..10) as activeExpireCycle scales its keys per
 * loop: ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP + ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP/4
 * × (effort - 1), that is 1 + (effort - 1) / 4 times as many (3.25 at 10).
 */
export function expiryBudget(effort: number): { look: number; delete: number } {
  const f = 1 + (effort - 1) / 4;
  return { look: Math.floor(LOOK_PER_CYCLE * f), delete: Math.floor(DELETE_PER_CYCLE * f) };
}

export interface ExpiryOptions {
  node: RaftisNode<Write>;
  dbs: Databases;
  /** The time stamped on the entry. */
  entryTime(): number;
  /** Whether expiry must wait (CLIENT PAUSE: Redis proposes no deletes while clients are paused). */
  held(): boolean;
  /** active-expire-effort, read at each cycle (1 when not given). */
  effort?(): number;
}

export class ActiveExpiry {
  private it: Iterator<[string, number]> | undefined;
  /** The database `it` walks; the cycle goes round the databases that have keys with a TTL. */
  private db = 0;
  /** The deletion entry in flight, with the term it was proposed in (one proposed in an earlier term may never commit). */
  private inFlight: ExpireWrite | undefined;

  constructor(private readonly opts: ExpiryOptions) {}

  /**
   * One cycle: propose the deletion of up to DELETE_PER_CYCLE expired keys
   * of one database (an entry names one database). A database walked to its
   * end passes the turn to the next one that has keys with a TTL.
   */
  cycle(): void {
    const { node, dbs } = this.opts;
    if (!node.isLeader || node.closed || this.opts.held()) return;
    if (this.inFlight !== undefined && this.inFlight.term === node.term) return;
    const now = Date.now();
    const budget = expiryBudget(this.opts.effort?.() ?? 1);
    const keys: string[] = [];
    let looked = 0;
    let keysDb = 0;
    // At most one pass over the databases per cycle.
    for (let visited = 0; visited <= dbs.count && keys.length === 0 && looked < budget.look; visited++) {
      keysDb = this.db;
      const ks = dbs.get(keysDb);
      if (ks.expiresCount === 0) {
        this.nextDb();
        continue;
      }
      for (; looked < budget.look && keys.length < budget.delete; looked++) {
        this.it ??= ks.keysWithExpiry();
        const r = this.it.next();
        if (r.done) {
          this.nextDb();
          break;
        }
        if (r.value[1] <= now) keys.push(r.value[0]);
      }
    }
    if (keys.length === 0) return;
    const entry: ExpireEntry = { kind: EntryKind.ExpireKeys, time: this.opts.entryTime(), keys };
    if (keysDb !== 0) entry.db = keysDb;
    const p = new ExpireWrite(this, entry);
    p.term = node.term;
    this.inFlight = p;
    node.propose(p);
  }

  private nextDb(): void {
    this.it = undefined;
    this.db = (this.db + 1) % this.opts.dbs.count;
  }

  settled(p: ExpireWrite): void {
    if (this.inFlight === p) this.inFlight = undefined;
  }
}

/** Active expiry's deletes: nobody waits for a reply. */
class ExpireWrite extends Write<ExpireEntry> {
  constructor(
    private readonly expiry: ActiveExpiry,
    entry: ExpireEntry,
  ) {
    super(entry, DISCARD);
  }

  settle(_outcome: Outcome): void {
    this.expiry.settled(this);
  }
}
