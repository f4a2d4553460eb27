/**
 * What the connection-level commands (INFO, CLIENT, CONFIG…) need to know
 * about the server: its clients, settings, counters and node.
 */
import crypto from 'node:crypto';
import { Dispatcher } from './dispatch.js';
import { Proxy } from './proxy.js';
import type { CommandTable } from '../table.js';
import type { RaftisNode } from '../../node/node.js';
import type { Client } from '../../server/client.js';
import { Config, integerParam } from './config.js';
import { PubSub } from './pubsub.js';
import { Stats } from './stats.js';

/** What INFO, CLUSTER and the proxy need from the command line (the node id lives in node.id). */
export interface ServerInfo {
  version: string;
  port: number;
  configFile: string;
  clusterId: string;
  /** What a follower does with a command it cannot serve: redirect (MOVED) or forward it to the leader. */
  followerWrites: 'moved' | 'proxy';
}

export class ServerState {
  nextClientId = 1;
  readonly clients = new Map<number, Client>();
  readonly startedAt = Date.now();
  /** The highest used_memory INFO has reported (Redis tracks its peak in serverCron). */
  memoryPeak = 0;
  /** CLIENT PAUSE in force: until when, and whether every command waits or only writes. */
  private clientPause: { until: number; all: boolean } | undefined;
  private pauseTimer: NodeJS.Timeout | undefined;
  /** Clients holding commands back until the pause ends. */
  private readonly pausedClients = new Set<Client>();
  readonly stats = new Stats();
  readonly config: Config;
  /** Clients with WATCHed keys, by key (leader-local, as in Redis). */
  readonly watchers = new Map<string, Set<Client>>();
  readonly runId = crypto.randomBytes(20).toString('hex');
  /** Clients with replies to write once this turn's reads are processed (Redis's clients_pending_write). */
  private pendingWrites: Client[] = [];
  private writesScheduled = false;
  private readonly writePending = (): void => {
    this.writesScheduled = false;
    const list = this.pendingWrites;
    this.pendingWrites = [];
    for (const c of list) c.flushScheduled();
  };
  readonly dispatcher: Dispatcher;
  /** Channel and pattern subscriptions of this node's clients. */
  readonly pubsub: PubSub;
  /** Present in --follower-writes proxy mode. */
  readonly proxy: Proxy | undefined;
  /**
   * Stops the process as SIGTERM does (SHUTDOWN); set by the command line,
   * which owns the process. Unset (a server embedded in tests), SHUTDOWN
   * answers Redis's "Errors trying to SHUTDOWN" and the server runs on.
   */
  shutdown: ((reason: string) => void) | undefined;

  constructor(
    readonly info: ServerInfo,
    readonly node: RaftisNode,
    readonly table: CommandTable,
    config?: Config,
  ) {
    this.config = config ?? new Config();
    node.sm.stats = this.stats;
    node.expiryHeld = () => this.clientPause !== undefined;
    setInterval(() => this.stats.sample(Date.now()), 100).unref();
    const slowlog = this.stats.slowlog;
    this.config.params.set('slowlog-log-slower-than', integerParam(() => slowlog.slowerThan, (n) => (slowlog.slowerThan = n), -1));
    this.config.params.set('slowlog-max-len', integerParam(() => slowlog.maxLen, (n) => (slowlog.maxLen = n), 0));
    const monitor = this.stats.latencyMonitor;
    this.config.params.set('latency-monitor-threshold', integerParam(() => monitor.threshold, (n) => (monitor.threshold = n), 0));
    const stats = this.stats;
    this.config.params.set('latency-tracking', {
      get: () => (stats.latencyTracking ? 'yes' : 'no'),
      set: (v) => {
        const b = v.toLowerCase();
        if (b !== 'yes' && b !== 'no') return 'argument must be \'yes\' or \'no\'';
        stats.latencyTracking = b === 'yes';
        return undefined;
      },
    });
    this.config.params.set('latency-tracking-info-percentiles', {
      get: () => stats.latencyPercentiles.join(' '),
      set: (v) => {
        const ps = v.split(' ').filter((x) => x !== '').map(Number);
        if (ps.some((p) => !Number.isFinite(p))) return 'Invalid latency-tracking-info-percentiles parameters';
        if (ps.some((p) => p < 0 || p > 100)) return 'latency-tracking-info-percentiles parameters should sit between [0.0,100.0]';
        stats.latencyPercentiles = ps;
        return undefined;
      },
    });
    node.sm.onTouch = (keys) => {
      this.touchWatched(keys);
      this.dispatcher.blocking.touched(keys);
    };
    this.dispatcher = new Dispatcher(this);
    const blocking = this.dispatcher.blocking;
    node.sm.touchWanted = () => this.watchers.size !== 0 || blocking.waiting;
    this.pubsub = new PubSub(node);
    this.proxy = info.followerWrites === 'proxy' ? new Proxy(this) : undefined;
  }

  /**
   * Writes c's replies after every socket that is readable this turn has
   * been read, as Redis writes in beforeSleep (handleClientsWithPendingWrites):
   * reading all requests first and then writing all replies.
   */
  scheduleWrite(c: Client): void {
    this.pendingWrites.push(c);
    if (this.writesScheduled) return;
    this.writesScheduled = true;
    setImmediate(this.writePending);
  }

  addClient(c: Client): void {
    this.clients.set(c.id, c);
    this.stats.totalConnections++;
  }

  /**
   * CLIENT PAUSE: from now until `ms` from now, commands wait (all of them,
   * or with `all` false the writes and those that may replicate, such as
   * PUBLISH, and EXEC of a transaction holding one). As Redis's
   * pauseClients: a later end and the stricter mode win over a pause in force.
   */
  pauseClients(ms: number, all: boolean): void {
    const cur = this.clientPause;
    const until = Math.max(Date.now() + ms, cur?.until ?? 0);
    this.clientPause = { until, all: all || (cur?.all ?? false) };
    if (this.pauseTimer !== undefined) clearTimeout(this.pauseTimer);
    this.pauseTimer = setTimeout(() => this.unpauseClients(), Math.max(0, until - Date.now()));
  }

  /** CLIENT UNPAUSE, or the pause's end: the clients held back run what they sent meanwhile. */
  unpauseClients(): void {
    this.clientPause = undefined;
    if (this.pauseTimer !== undefined) clearTimeout(this.pauseTimer);
    this.pauseTimer = undefined;
    const held = [...this.pausedClients];
    this.pausedClients.clear();
    for (const c of held) c.resume();
  }

  /** Whether c must hold argv back because of CLIENT PAUSE (it is then resumed when the pause ends). */
  mustWait(c: Client, argv: string[]): boolean {
    const p = this.clientPause;
    if (p === undefined) return false;
    if (!p.all) {
      const def = this.table.lookup(argv);
      if (def === undefined) return false;
      // Inside MULTI commands are queued, not run: the EXEC of a transaction holding a write waits instead.
      const held = c.multi === undefined ? def.mayReplicate : def.name === 'exec' && c.multi.some((a) => this.table.lookup(a)?.mayReplicate === true);
      if (!held) return false;
    }
    this.pausedClients.add(c);
    return true;
  }

  removeClient(c: Client): void {
    this.clients.delete(c.id);
    this.stats.monitors.delete(c);
    this.pausedClients.delete(c);
    this.unwatchAll(c);
    this.pubsub.unsubscribeAll(c);
  }

  watch(c: Client, key: string, expiredAtWatch: boolean): void {
    if (c.watched.has(key)) return;
    c.watched.set(key, { key, expiredAtWatch });
    let set = this.watchers.get(key);
    if (!set) this.watchers.set(key, (set = new Set()));
    set.add(c);
  }

  unwatchAll(c: Client): void {
    for (const key of c.watched.keys()) {
      const set = this.watchers.get(key);
      if (set) {
        set.delete(c);
        if (set.size === 0) this.watchers.delete(key);
      }
    }
    c.watched.clear();
    c.watchDirty = false;
  }

  private touchWatched(keys: readonly string[] | null): void {
    if (this.watchers.size === 0) return;
    if (keys === null) {
      for (const set of this.watchers.values()) for (const c of set) c.watchDirty = true;
      return;
    }
    for (const k of keys) {
      const set = this.watchers.get(k);
      if (set) for (const c of set) c.watchDirty = true;
    }
  }
}
