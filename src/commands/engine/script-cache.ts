/**
 * Caching the scripts the read path runs. Redis caches the body of every
 * script EVAL runs (EVAL_RO and `#!lua flags=no-writes` included), so that
 * SCRIPT EXISTS answers 1 and EVALSHA finds it. In raftis the script cache
 * is replicated state, changed only by applied entries; an EVAL served on
 * the read path changes nothing. So when the leader serves one whose body
 * is not cached, it proposes an EntryKind.CacheScripts entry for the body
 * (no command: INFO commandstats counts nothing the client did not send),
 * and the client's later commands wait for it (lastWriteIndex), as they
 * wait for its writes: `EVAL_RO …` then `SCRIPT EXISTS` answers 1.
 *
 * A READONLY follower cannot propose: there the body is cached once a
 * leader runs it (docs/decisions.md).
 */
import type { Outcome } from '../../node/node.js';
import { DISCARD } from '../../server/resp-writer.js';
import type { Engine, EngineClient } from './engine.js';
import { EntryKind, type CacheScriptsEntry } from './entry.js';
import { Write } from './write.js';

/** The caching entry of one body: no reply, nobody to answer. */
class CacheScriptWrite extends Write<CacheScriptsEntry> {
  constructor(
    entry: CacheScriptsEntry,
    private readonly done: () => void,
  ) {
    super(entry, DISCARD);
  }

  settle(_outcome: Outcome): void {
    // Not applied (lost leadership…): a later EVAL of the body proposes it again.
    this.done();
  }
}

export class ScriptCaching {
  /** Bodies whose caching entry is in flight: a second EVAL of one waits for the same entry. */
  private readonly inFlight = new Map<string, CacheScriptWrite>();

  constructor(private readonly server: Engine) {}

  /** After a command ran on the read path for `c`: proposes caching the body a read-path EVAL left uncached, if any. */
  afterRead(c: EngineClient): void {
    const body = this.server.scripts.takeUncached();
    if (body === undefined) return;
    const node = this.server.node;
    if (!node.isLeader) return;
    const pending = this.inFlight.get(body);
    if (pending !== undefined) {
      if (pending.index > c.lastWriteIndex) c.lastWriteIndex = pending.index;
      return;
    }
    const entry: CacheScriptsEntry = { kind: EntryKind.CacheScripts, time: this.server.applier.entryTime(), keys: [body] };
    const p = new CacheScriptWrite(entry, () => this.inFlight.delete(body));
    if (node.propose(p)) {
      this.inFlight.set(body, p);
      if (p.index > c.lastWriteIndex) c.lastWriteIndex = p.index;
    }
  }
}
