/**
 * A Redis Cluster client for the sharded chaos test (issue 21): finds the
 * group that serves a key's slot by following MOVED (remembered per slot,
 * as Redis Cluster clients keep a slot table), follows ASK for one attempt
 * (ASKING first, on the same connection, not remembered), retries after
 * TRYAGAIN and CLUSTERDOWN, and bounds every attempt with a timeout.
 *
 * The rule of ./client.ts keeps the history honest here too: an attempt is
 * retried only when the reply proves the request had no effect (MOVED, ASK,
 * TRYAGAIN, CLUSTERDOWN: raftis gives them before proposing, or when the
 * applied entry is refused on every replica with no effect — see
 * docs/decisions.md "Sharding, phase 1/2"), or when nothing was sent. A
 * timeout, a reset connection or any other error reply is an unknown
 * outcome, never resent.
 */
import { keyHashSlot } from '../../src/commands/routing.js';
import { RawClient, encodeCommand } from '../helpers/raw-client.js';
import type { Outcome } from './client.js';

export interface ShardNodeAddr {
  /** A number unique across groups (for reports): group * 10 + raft id. */
  id: number;
  group: number;
  host: string;
  port: number;
}

export interface ShardClientOptions {
  attemptTimeoutMs: number;
  requestDeadlineMs: number;
  retryDelayMs: number;
  stopped: () => boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class NotSent extends Error {}
class AttemptTimeout extends Error {}

export class ShardChaosClient {
  private readonly conns = new Map<number, RawClient>();
  /** slot → index into nodes of the node requests for it go to. */
  private readonly slotNode: Int16Array;
  readonly stats = { attempts: 0, moved: 0, ask: 0, clusterdown: 0, tryagain: 0, timeouts: 0, resets: 0, refused: 0 };

  constructor(
    private readonly nodes: readonly ShardNodeAddr[],
    /** The group owning each slot when the client starts (it learns the rest from MOVED). */
    initialOwner: (slot: number) => number,
    private readonly opts: ShardClientOptions,
    start = 0,
  ) {
    this.slotNode = new Int16Array(16384);
    const firstOf = new Map<number, number>();
    for (let i = 0; i < nodes.length; i++) {
      const g = nodes[i]!.group;
      const members = nodes.filter((n) => n.group === g).length;
      if (!firstOf.has(g)) firstOf.set(g, i + (start % members));
    }
    for (let s = 0; s < 16384; s++) this.slotNode[s] = firstOf.get(initialOwner(s)) ?? 0;
  }

  close(): void {
    for (const c of this.conns.values()) c.close();
    this.conns.clear();
  }

  /** The next member of node i's group (after a node did not answer). */
  private nextInGroup(i: number): number {
    const g = this.nodes[i]!.group;
    for (let k = 1; k <= this.nodes.length; k++) {
      const j = (i + k) % this.nodes.length;
      if (this.nodes[j]!.group === g) return j;
    }
    return i;
  }

  private indexOf(addr: string): number {
    const i = this.nodes.findIndex((n) => `${n.host}:${n.port}` === addr);
    if (i < 0) throw new Error(`redirected to an unknown address ${addr}`);
    return i;
  }

  /** Runs one keyed command (key = args[1]) to a definite, unknown or failed outcome. */
  async request(args: readonly string[]): Promise<Outcome> {
    const slot = keyHashSlot(args[1]!);
    const deadline = performance.now() + this.opts.requestDeadlineMs;
    let lastReason = 'deadline';
    /** Set after -ASK: the next attempt goes there, with ASKING. */
    let ask: number | undefined;
    for (;;) {
      if (performance.now() > deadline || this.opts.stopped()) return { kind: 'failed', reason: lastReason };
      const target = ask ?? this.slotNode[slot]!;
      const asking = ask !== undefined;
      ask = undefined;
      const node = this.nodes[target]!;
      this.stats.attempts++;
      let reply: string;
      try {
        reply = await this.attempt(target, args, asking);
      } catch (e) {
        if (e instanceof NotSent) {
          this.stats.refused++;
          lastReason = e.message;
          if (!asking) this.slotNode[slot] = this.nextInGroup(target);
          await sleep(this.opts.retryDelayMs);
          continue;
        }
        if (e instanceof AttemptTimeout) this.stats.timeouts++;
        else this.stats.resets++;
        this.drop(target);
        // A silent node is likely paused, dead or cut off; the next request for this slot tries another member.
        if (!asking) this.slotNode[slot] = this.nextInGroup(target);
        return { kind: 'unknown', reason: (e as Error).message, node: node.id };
      }
      const m = /^-(MOVED|ASK) (\d+) (\S+)\r\n$/.exec(reply);
      if (m) {
        lastReason = reply.trim();
        const to = this.indexOf(m[3]!);
        if (m[1] === 'MOVED') {
          this.stats.moved++;
          if (to === target) await sleep(this.opts.retryDelayMs);
          this.slotNode[Number(m[2])] = to;
        } else {
          this.stats.ask++;
          ask = to;
        }
        continue;
      }
      if (reply.startsWith('-CLUSTERDOWN') || reply.startsWith('-TRYAGAIN')) {
        if (reply.startsWith('-CLUSTERDOWN')) {
          this.stats.clusterdown++;
          // A node that knows no leader of its group: another member may.
          if (!asking && /no leader|down/i.test(reply) && !/not served/.test(reply)) this.slotNode[slot] = this.nextInGroup(target);
        } else this.stats.tryagain++;
        lastReason = reply.trim();
        await sleep(this.opts.retryDelayMs);
        continue;
      }
      if (reply.startsWith('-')) return { kind: 'unknown', reason: reply.trim(), node: node.id };
      return { kind: 'ok', reply, node: node.id };
    }
  }

  private drop(i: number): void {
    this.conns.get(i)?.close();
    this.conns.delete(i);
  }

  private async attempt(i: number, args: readonly string[], asking: boolean): Promise<string> {
    const node = this.nodes[i]!;
    const timeoutMs = this.opts.attemptTimeoutMs;
    let conn = this.conns.get(i);
    if (conn?.isClosed) {
      this.drop(i);
      conn = undefined;
    }
    if (conn === undefined) {
      let timer: NodeJS.Timeout | undefined;
      const connecting = RawClient.connect(node.port, node.host);
      try {
        conn = await Promise.race([
          connecting,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new NotSent(`connect to node ${node.id} timed out`)), timeoutMs);
          }),
        ]);
        this.conns.set(i, conn);
      } catch (e) {
        connecting.then((c) => c.close(), () => {});
        throw e instanceof NotSent ? e : new NotSent(`connect to node ${node.id}: ${(e as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
    }
    if (conn.isClosed) {
      this.drop(i);
      throw new NotSent(`connection to node ${node.id} closed before sending`);
    }
    let timer: NodeJS.Timeout | undefined;
    const c = conn;
    const exchange = async (): Promise<string> => {
      if (!asking) return c.call(...args);
      // ASKING and the command in one write: the flag is for the next command of this connection.
      const okP = c.next();
      const replyP = c.next();
      // Both reject when the connection closes; the second is not awaited when the first throws.
      replyP.catch(() => {});
      c.sock.write(Buffer.from(encodeCommand(['ASKING']) + encodeCommand(args), 'latin1'));
      const ok = await okP;
      const reply = await replyP;
      if (ok !== '+OK\r\n') throw new Error(`ASKING answered ${JSON.stringify(ok)}`);
      return reply;
    };
    try {
      return await Promise.race([
        exchange(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new AttemptTimeout(`no reply from node ${node.id} in ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

