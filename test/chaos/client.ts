/**
 * A cluster-aware client for the chaos test: sends each request to the node
 * it believes leads, follows MOVED, waits and retries on CLUSTERDOWN and
 * TRYAGAIN, and bounds every attempt with a timeout.
 *
 * The one rule that keeps the recorded history honest: an attempt is retried
 * only when the server (or the network, before anything was sent) proved the
 * request had no effect. Once a request may have reached a server and no
 * definite answer came back (timeout, connection reset, `-ERR outcome
 * unknown`), the outcome is reported as unknown and the request is never
 * sent again.
 */
import { RawClient } from '../helpers/raw-client.js';

export interface NodeAddr {
  id: number;
  host: string;
  port: number;
}

export type Outcome =
  /** A definite reply (not a redirect, not a refusal). `node` is the id of the node that answered. */
  | { kind: 'ok'; reply: string; node: number }
  /** The request may or may not have taken effect. */
  | { kind: 'unknown'; reason: string; node: number }
  /** The request certainly did not take effect (never sent, or refused every time until the deadline). */
  | { kind: 'failed'; reason: string };

export interface ChaosClientOptions {
  /** Timeout of one attempt (connect + reply). */
  attemptTimeoutMs: number;
  /** Give up on a request (as failed, if nothing uncertain happened) after this long. */
  requestDeadlineMs: number;
  /** Delay before retrying after CLUSTERDOWN/TRYAGAIN/connection refused. */
  retryDelayMs: number;
  /** Stops retrying early (end of test). */
  stopped: () => boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Why sending failed before the request could have been received. */
class NotSent extends Error {}
class AttemptTimeout extends Error {}

export class ChaosClient {
  private conn: RawClient | undefined;
  private connNode = 0;
  /** Index into nodes of the node requests go to. */
  private target: number;
  /** Counters for the test report. */
  readonly stats = { attempts: 0, moved: 0, clusterdown: 0, tryagain: 0, timeouts: 0, resets: 0, refused: 0 };

  constructor(
    private readonly nodes: readonly NodeAddr[],
    private readonly opts: ChaosClientOptions,
    start = 0,
  ) {
    this.target = start % nodes.length;
  }

  /** The id of the node this client currently believes leads. */
  get believedLeader(): number {
    return this.nodes[this.target]!.id;
  }

  close(): void {
    this.conn?.close();
    this.conn = undefined;
  }

  /** Runs one command to a definite, unknown or failed outcome. */
  async request(args: readonly string[]): Promise<Outcome> {
    const deadline = performance.now() + this.opts.requestDeadlineMs;
    let lastReason = 'deadline';
    for (;;) {
      if (performance.now() > deadline || this.opts.stopped()) return { kind: 'failed', reason: lastReason };
      const node = this.nodes[this.target]!;
      this.stats.attempts++;
      let reply: string;
      try {
        reply = await this.attempt(node, args);
      } catch (e) {
        if (e instanceof NotSent) {
          // Nothing reached a server: safe to try the next node.
          this.stats.refused++;
          lastReason = e.message;
          this.next();
          await sleep(this.opts.retryDelayMs);
          continue;
        }
        // Sent, and no definite answer: never resend.
        if (e instanceof AttemptTimeout) this.stats.timeouts++;
        else this.stats.resets++;
        this.close();
        // A silent node is likely paused or dead; the next request tries another one.
        this.next();
        return { kind: 'unknown', reason: (e as Error).message, node: node.id };
      }
      if (reply.startsWith('-MOVED ')) {
        this.stats.moved++;
        lastReason = reply.trim();
        const addr = reply.trim().split(' ')[2] ?? '';
        const i = this.nodes.findIndex((n) => `${n.host}:${n.port}` === addr);
        if (i < 0) throw new Error(`MOVED to unknown address: ${reply}`);
        if (i === this.target) {
          // Redirected to itself: a stale view; wait a little.
          await sleep(this.opts.retryDelayMs);
        }
        this.target = i;
        continue;
      }
      if (reply.startsWith('-CLUSTERDOWN')) {
        this.stats.clusterdown++;
        lastReason = reply.trim();
        // This node knows no leader; another node may.
        this.next();
        await sleep(this.opts.retryDelayMs);
        continue;
      }
      if (reply.startsWith('-TRYAGAIN')) {
        // Certainly not applied: the same operation may be sent again.
        this.stats.tryagain++;
        lastReason = reply.trim();
        await sleep(this.opts.retryDelayMs);
        continue;
      }
      if (reply.startsWith('-')) {
        // `-ERR outcome unknown …`, or any other error we do not know to be harmless.
        return { kind: 'unknown', reason: reply.trim(), node: node.id };
      }
      return { kind: 'ok', reply, node: node.id };
    }
  }

  private next(): void {
    this.target = (this.target + 1) % this.nodes.length;
  }

  /** One attempt on one node; throws NotSent, AttemptTimeout or a connection error. */
  private async attempt(node: NodeAddr, args: readonly string[]): Promise<string> {
    if (this.conn && (this.conn.isClosed || this.connNode !== node.id)) this.close();
    const timeoutMs = this.opts.attemptTimeoutMs;
    if (!this.conn) {
      let timer: NodeJS.Timeout | undefined;
      const connecting = RawClient.connect(node.port, node.host);
      try {
        this.conn = await Promise.race([
          connecting,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new NotSent(`connect to node ${node.id} timed out`)), timeoutMs);
          }),
        ]);
        this.connNode = node.id;
      } catch (e) {
        // Close a connection that completes after its timeout.
        connecting.then((c) => c.close(), () => {});
        throw e instanceof NotSent ? e : new NotSent(`connect to node ${node.id}: ${(e as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
    }
    const conn = this.conn;
    if (conn.isClosed) {
      this.close();
      throw new NotSent(`connection to node ${node.id} closed before sending`);
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        conn.call(...args),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new AttemptTimeout(`no reply from node ${node.id} in ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
