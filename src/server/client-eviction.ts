/**
 * maxmemory-clients: Redis 7.0's client eviction (networking.c
 * evictClients, getClientEvictionLimit), per node — it is about the
 * connections one node holds, not about data, so the node holding a
 * connection is the one that measures and evicts it.
 *
 * A client's memory (Client.memoryUsage, CLIENT LIST tot-mem) is a fixed
 * part, what redis-server 7.0.15 reports as tot-mem for an idle RESP2 client
 * (its struct, its 16 KB reply buffer, its empty query buffer), plus what
 * it holds: the query buffer as client-query-buffer-limit counts it and the
 * replies not taken by the socket yet. The total counts every client,
 * NO-EVICT ones too, as Redis's stat_clients_type_memory; when it reaches
 * the limit the evictable clients are closed, largest first, until it is
 * below (Redis goes through power-of-two memory buckets from the top, so
 * its order inside a bucket is arrival order: the largest-first order here
 * picks the same clients whenever they are in different buckets). Each is
 * counted in INFO stats evicted_clients.
 *
 * When it runs: after a client's input is read (its query buffer grew, or
 * its commands ran), after replies are written to its socket (its output
 * grew), and from the server cron (output the socket took since). With
 * maxmemory-clients 0 nothing is measured.
 */
import { createLogger } from '../util/log.js';

const log = createLogger('server');

/** tot-mem of an idle RESP2 client on redis-server 7.0.15 (CLIENT LIST: qbuf=0, rbs=1024, omem=0). */
export const CLIENT_BASE_MEMORY = 22272;

/** Redis's floor on the limit (getClientEvictionLimit): a smaller setting would leave no way to talk to the server. */
const MIN_LIMIT = 128 * 1024;

/** What the eviction needs of a client (Client implements it). */
export interface MeasuredClient {
  readonly id: number;
  /** CLIENT NO-EVICT on. */
  noEvict: boolean;
  /** The memory counted for it in the total now. */
  memCounted: number;
  memoryUsage(): number;
  /** Closes the connection now, dropping what it has not sent or read (Redis's freeClient). */
  evict(): void;
  /** For the log line. */
  describe(): string;
}

export class ClientEviction {
  /** The limit in force, in bytes (0: off). */
  private limit = 0;
  /** Sum of memCounted over the clients. */
  private total = 0;
  /** INFO stats evicted_clients. */
  evicted = 0;
  private readonly clients = new Set<MeasuredClient>();
  private evicting = false;

  /** Whether clients are measured (maxmemory-clients is set). */
  get enabled(): boolean {
    return this.limit !== 0;
  }

  /**
   * maxmemory-clients and maxmemory as CONFIG leaves them: `setting` in
   * bytes, or a negative percentage of `maxmemory` (0 when maxmemory is 0).
   */
  configure(setting: bigint, maxmemory: bigint): void {
    let limit: number;
    if (setting < 0n) limit = maxmemory > 0n ? Math.floor(Number(maxmemory) * (Number(-setting) / 100)) : 0;
    else limit = Number(setting);
    if (limit !== 0 && limit < MIN_LIMIT) limit = MIN_LIMIT;
    const was = this.limit;
    this.limit = limit;
    if (limit === 0) return;
    if (was === 0) this.remeasure();
    this.check();
  }

  add(c: MeasuredClient): void {
    this.clients.add(c);
    c.memCounted = 0;
    if (this.limit !== 0) this.update(c);
  }

  remove(c: MeasuredClient): void {
    if (!this.clients.delete(c)) return;
    this.total -= c.memCounted;
    c.memCounted = 0;
  }

  /** c's memory changed: counts it anew and evicts if the total is now at the limit. */
  update(c: MeasuredClient): void {
    if (this.limit === 0 || !this.clients.has(c)) return;
    const m = c.memoryUsage();
    this.total += m - c.memCounted;
    c.memCounted = m;
    if (this.total >= this.limit) this.check();
  }

  /** The server cron: every client measured again (output the sockets took), then the limit checked. */
  cron(): void {
    if (this.limit === 0) return;
    this.remeasure();
    this.check();
  }

  private remeasure(): void {
    let total = 0;
    for (const c of this.clients) {
      c.memCounted = c.memoryUsage();
      total += c.memCounted;
    }
    this.total = total;
  }

  /** Redis's evictClients: the evictable clients, largest first, until the total is below the limit. */
  private check(): void {
    if (this.evicting || this.limit === 0 || this.total < this.limit) return;
    this.evicting = true;
    try {
      const candidates = [...this.clients].filter((c) => !c.noEvict).sort((a, b) => b.memCounted - a.memCounted);
      for (const c of candidates) {
        if (this.total < this.limit) return;
        log.info(`Evicting client: ${c.describe()}`);
        this.remove(c);
        this.evicted++;
        c.evict();
      }
      if (this.total >= this.limit) log.warn('Over client maxmemory after evicting all evictable clients');
    } finally {
      this.evicting = false;
    }
  }
}
