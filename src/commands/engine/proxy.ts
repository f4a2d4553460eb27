/**
 * --follower-writes proxy: for clients that cannot follow MOVED (a plain
 * `new Redis(port)` pointed at a follower). The follower forwards the
 * command over the peer link to the leader, which runs it exactly as it
 * would for its own client and sends back the encoded reply.
 *
 * A forwarded command is sent once and never resent: if the reply does not
 * come back (connection lost, leader changed, timeout), a write is answered
 * "outcome unknown" and a read TRYAGAIN, so no write is ever applied twice.
 */
import { batchOom, forwardedOom } from './evict.js';
import { EntryKind, type CommandEntry } from './entry.js';
import { Denied, markDeniedInExec, nopermError, type User } from './acl.js';
import type { Outcome } from '../../node/node.js';
import type { Engine, EngineClient as Client } from './engine.js';
import { RespWriter } from '../../server/resp-writer.js';
import { OUTCOME_UNKNOWN, Write } from './write.js';
import { FrameType } from '../../transport/frame.js';
import { decodeForwardCommand, decodeForwardReply, encodeForwardCommand, encodeForwardReply, type ForwardCommand } from '../../transport/forward.js';
import { createLogger } from '../../util/log.js';
import { CLUSTERDOWN_NO_LEADER } from '../routing.js';
import { isLogged, type CommandDef, type CommandTable } from '../table.js';
import { ERR } from '../errors.js';

const log = createLogger('proxy');

/** How long a follower waits for the leader's reply to a forwarded command. */
const FORWARD_TIMEOUT_MS = 10_000;

export const TRYAGAIN_FORWARD_READ = 'TRYAGAIN the leader did not answer this forwarded read; retry it';
export const ERR_FORWARD_CONN_IN_MULTI = 'ERR this command cannot run in a transaction forwarded to the leader; connect to the leader';
export const ERR_FORWARD_WATCH = 'ERR WATCH is not supported through a follower in proxy mode; connect to the leader';

interface Waiting {
  c: Client;
  w: RespWriter;
  write: boolean;
  timer: NodeJS.Timeout;
}

export class Proxy {
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  /** Forwarded writes awaiting their answer, per client (for Tracking.holdFor). */
  private readonly writesInFlight = new Map<Client, number>();
  /**
   * Leader side: the last index proposed for each follower's forwarded
   * writes. A forwarded read waits for it, so a client that pipelines a write
   * and a read through a follower reads its own write (the peer link keeps
   * their order).
   */
  private readonly lastWriteFrom = new Map<number, number>();

  constructor(private readonly server: Engine) {}

  /** A forwarded-command frame from a peer (FrameType.ForwardCommand or ForwardReply). */
  onFrame(type: number, body: Buffer, from: number): void {
    try {
      if (type === FrameType.ForwardCommand) this.onCommand(decodeForwardCommand(body), from);
      else if (type === FrameType.ForwardReply) this.onReply(body);
    } catch (e) {
      log.warn(`bad forwarded-command frame from node ${from}: ${(e as Error).message}`);
    }
  }

  // ---- follower side --------------------------------------------------------------

  /** Forwards commands of client c to the leader; false if there is no leader to send to. */
  forward(c: Client, cmds: string[][], multi: boolean, write: boolean, slot?: RespWriter): boolean {
    const node = this.server.node;
    const leader = node.leader;
    if (leader === 0 || leader === node.id) return false;
    const id = this.nextId++;
    // The user goes along: the leader checks its permissions with its own (latest) copy of the users.
    const body = encodeForwardCommand({ id, proto: c.proto, multi, cmds, db: c.dbIndex, user: c.user.name });
    if (!node.sendForward(leader, FrameType.ForwardCommand, body)) return false;
    const w = slot ?? c.defer();
    // The leader may run later forwarded writes before a read's ReadIndex
    // round ends: hold the client's pipeline until the read's answer is back.
    if (!write) c.hold(w);
    const timer = setTimeout(() => this.giveUp(id), FORWARD_TIMEOUT_MS);
    timer.unref();
    this.waiting.set(id, { c, w, write, timer });
    if (write) this.writesInFlight.set(c, (this.writesInFlight.get(c) ?? 0) + 1);
    return true;
  }

  /** Whether c waits for the leader's answer to a forwarded write (Tracking.holdFor). */
  hasWriteInFlight(c: Client): boolean {
    return this.writesInFlight.size !== 0 && this.writesInFlight.has(c);
  }

  /** A forwarded command of c is answered (or given up): once none of its writes is, its held invalidations follow. */
  private answered(wt: Waiting): void {
    wt.c.complete(wt.w);
    if (!wt.write) return;
    const n = (this.writesInFlight.get(wt.c) ?? 1) - 1;
    if (n > 0) {
      this.writesInFlight.set(wt.c, n);
      return;
    }
    this.writesInFlight.delete(wt.c);
    this.server.tracking.release(wt.c);
  }

  private onReply(body: Buffer): void {
    const { id, reply } = decodeForwardReply(body);
    const wt = this.waiting.get(id);
    if (!wt) return; // timed out already
    this.waiting.delete(id);
    clearTimeout(wt.timer);
    wt.w.raw(reply);
    this.answered(wt);
  }

  private giveUp(id: number): void {
    const wt = this.waiting.get(id);
    if (!wt) return;
    this.waiting.delete(id);
    wt.w.error(wt.write ? OUTCOME_UNKNOWN : TRYAGAIN_FORWARD_READ);
    this.answered(wt);
  }

  // ---- leader side ------------------------------------------------------------------

  private onCommand(fc: ForwardCommand, from: number): void {
    const server = this.server;
    const node = server.node;
    const table = server.table;
    const w = new RespWriter(fc.proto);
    const send = (): void => {
      node.sendForward(from, FrameType.ForwardReply, encodeForwardReply({ id: fc.id, reply: w.take() }));
    };
    if (!node.isLeader) {
      w.error(CLUSTERDOWN_NO_LEADER);
      return send();
    }
    const dbIndex = fc.db ?? 0;
    if (dbIndex >= server.dbs.count) {
      w.error(ERR.selectDbOutOfRange);
      return send();
    }
    const defs = fc.cmds.map((argv) => table.lookup(argv));
    let user: User | undefined;
    if (fc.user !== undefined) {
      user = server.acl.users.get(fc.user);
      const refusal = forwardedAclRefusal(server.acl, user, fc, defs, from, table);
      if (refusal !== undefined) {
        w.error(refusal);
        return send();
      }
    }
    const userName = user === undefined || user.allowsAll ? undefined : user.name;
    const hasWrite = defs.some((d, i) => isLogged(d, server, fc.cmds[i]!));
    if (fc.multi || hasWrite) {
      const oom = forwardedOom(server.evictor, table, server.scripts, fc.cmds, fc.multi);
      if (oom !== undefined) {
        w.error(oom);
        return send();
      }
      const entry: CommandEntry = { kind: EntryKind.Commands, time: server.applier.entryTime(), multi: fc.multi, cmds: fc.cmds };
      if (dbIndex !== 0) entry.db = dbIndex;
      if (server.scripts.standaloneNow()) entry.standalone = true;
      if (batchOom(server.evictor, fc.cmds)) entry.oom = true;
      // Scripts check their redis.call commands against the user on every replica.
      if (userName !== undefined) entry.user = userName;
      const p = new ForwardedWrite(server, entry, w, send);
      if (node.propose(p)) this.lastWriteFrom.set(from, p.index);
      return;
    }
    const def = defs[0];
    const argv = fc.cmds[0]!;
    if (!def?.data) {
      w.error(ERR_FORWARD_CONN_IN_MULTI);
      return send();
    }
    const after = this.lastWriteFrom.get(from) ?? 0;
    const run = (): void => {
      node.whenApplied(after, () => {
        def.data!({ db: server.dbs.get(dbIndex), dbIndex, dbs: server.dbs, now: Date.now(), index: 0, w, scripts: server.scripts, user: userName }, argv);
        send();
      });
    };
    if (node.soleVoter) return run();
    node.readBarrier((ok) => {
      if (!ok) {
        w.error(TRYAGAIN_FORWARD_READ);
        return send();
      }
      run();
    });
  }
}

/** The leader's own check of a forwarded command's user (Redis's ACLCheckAllPerm), logged in its ACL LOG. */
export function forwardedAclRefusal(acl: Engine['acl'], user: User | undefined, fc: ForwardCommand, defs: readonly (CommandDef | undefined)[], from: number, table: CommandTable): string | undefined {
  if (user === undefined) {
    // Deleted since the follower authenticated the client (the follower closes it when it applies the deletion).
    const def = defs[0];
    return def !== undefined ? nopermError(Denied.Cmd, def) : `NOPERM this user has no permissions to run the '${(fc.cmds[0]?.[0] ?? '').toLowerCase()}' command`;
  }
  if (user.allowsAll) return undefined;
  const cinfo = `forwarded by node ${from}`;
  // A transaction as EXEC's second check: the denied commands answer NOPERM, the others run.
  if (fc.multi) {
    markDeniedInExec(acl, user, fc.cmds, table, cinfo);
    return undefined;
  }
  for (let i = 0; i < fc.cmds.length; i++) {
    const argv = fc.cmds[i]!;
    const def = defs[i];
    if (def === undefined) continue;
    const r = acl.check(user, def, argv);
    if (r.denied === Denied.Ok) continue;
    acl.addLog(r.denied, 'toplevel', r.denied === Denied.Cmd ? def.name : argv[r.pos]!, user.name, cinfo);
    return nopermError(r.denied, def);
  }
  return undefined;
}

/** A follower client's write, run on the leader: its reply goes back over the peer link. */
class ForwardedWrite extends Write<CommandEntry> {
  constructor(
    private readonly engine: Engine,
    entry: CommandEntry,
    w: RespWriter,
    private readonly send: () => void,
  ) {
    super(entry, w);
  }

  override conn(_argv: string[], w: RespWriter): void {
    w.error(ERR_FORWARD_CONN_IN_MULTI);
  }

  settle(outcome: Outcome): void {
    if (outcome !== 'applied') this.w.error(this.engine.dispatcher.outcomeError(outcome, this.entry));
    this.send();
  }
}
