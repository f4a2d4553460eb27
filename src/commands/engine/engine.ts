/**
 * The engine: Redis's `struct redisServer` for raftis. It owns the node (the
 * Raft driver, src/node) and everything Redis keeps server-wide — the
 * command table and dispatcher, blocked clients, the follower proxy, pub/sub,
 * WATCHed keys, CLIENT PAUSE, stats, SLOWLOG, latency and config — and it
 * is the host of every client connection (src/server/client.ts's
 * ClientHost): the network layer hands it parsed requests.
 *
 *   Engine.open → RaftisNode.open({ stateMachine: Applier, … }) → replay
 *   client request → onCommand → Dispatcher → read / propose(Write) / conn
 *   committed entry → Applier.apply → reply into the Write's slot
 */
import { ShardState } from './shard-state.js';
import { ShardRouter } from './shard-router.js';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Databases } from '../../keyspace/databases.js';
import type { Keyspace } from '../../keyspace/keyspace.js';
import { encodingLimits } from '../../keyspace/types/encodings.js';
import { hllLimits } from '../hll.js';
import { RaftisNode, type NodeOptions } from '../../node/node.js';
import type { Client, ClientHost, ClientLimits } from '../../server/client.js';
import { ClientEviction } from '../../server/client-eviction.js';
import type { CommandTable } from '../table.js';
import { Applier } from './apply.js';
import { Dispatcher } from './dispatch.js';
import { ActiveExpiry } from './expire.js';
import { ServerCron } from './cron.js';
import { createLogger, redisLogLevel, setRedisLogLevel, type RedisLogLevel } from '../../util/log.js';
import type { SavePoint } from '../../node/node.js';
import { Evictor, type Policy } from './evict.js';
import { Proxy } from './proxy.js';
import { Config } from './config.js';
import { KeyspaceNotifier } from './notifications.js';
import { PubSub } from './pubsub.js';
import { Scripts, type ScriptOptions } from './scripts.js';
import { ScriptDecisions } from './script-decision.js';
import { Stats } from './stats.js';
import { Tracking } from './tracking.js';
import { ClusterStatus, engineStatusPort } from './cluster-status.js';
import { FrameType } from '../../transport/frame.js';
import { Acl, type User } from './acl.js';
import type { Write } from './write.js';

/** A client connection as the engine knows it. */
export type EngineClient = Client<Engine>;

/** The node's options that are the command line's to choose (the engine supplies the state machine and the frame handlers). */
export type EngineNodeOptions = Omit<NodeOptions<Write>, 'dbs' | 'stateMachine' | 'onPeerFrame' | 'onPubSub'>;

export interface EngineOptions {
  info: ServerInfo;
  node: EngineNodeOptions;
  table: CommandTable;
  /**
   * Stops the process as SIGTERM does (SHUTDOWN); given by the command line,
   * which owns the process. Absent (an engine embedded in tests), SHUTDOWN
   * answers Redis's "Errors trying to SHUTDOWN" and the server runs on.
   */
  shutdown?: (reason: string) => void;
  /** Lua scripting limits (the instruction budget must be the same on every node). */
  scripts?: ScriptOptions;
  /** The number of databases (--databases; 16 by default). Every node of a cluster must have the same. */
  databases?: number;
  /** The config file the node was started with: its Redis parameters are set at start (checked by the CLI). */
  configFile?: ConfigFileInfo;
  /** Where the instance values (port, bind, dir, cluster-port, databases, loglevel) came from, when not the default. */
  configSources?: Record<string, string>;
  /**
   * Start-up's users (--requirepass, --aclfile) and --protected-mode: the
   * seed, which stands until a replicated ACL change (an entry, or a
   * snapshot holding one) decides the users (acl.ts touched).
   */
  auth?: { requirepass?: string; aclfile?: string; protectedMode?: boolean };
}

/** A config file's path and the Redis parameters it sets, in file order. */
export interface ConfigFileInfo {
  path: string;
  params: readonly { name: string; args: readonly string[]; source: string }[];
}

/** One of raftis's own options as RAFT.CONFIG lists it. */
export interface OptionReport {
  name: string;
  value: string;
  source: string;
}

/** What INFO, CLUSTER and the proxy need from the command line (the node id lives in node.id). */
export interface ServerInfo {
  version: string;
  port: number;
  configFile: string;
  /** The address the client port listens on (CONFIG GET bind); 127.0.0.1 when not given. */
  bind?: string;
  /** The peer port (CONFIG GET cluster-port answers 0 when it is port + 10000, as Redis's default). */
  clusterPort?: number;
  clusterId: string;
  /** What a follower does with a command it cannot serve: redirect (MOVED) or forward it to the leader. */
  followerWrites: 'moved' | 'proxy';
  /** raftis's own options (command-line flags or config file), for RAFT.CONFIG. */
  ownOptions?: readonly OptionReport[];
  /** --group: this node's data group in a sharded cluster (undefined: one group owns every slot, as before sharding). */
  group?: number;
  /** --shard-seeds: client addresses of group 0's nodes, where the other groups first fetch the slot map. */
  shardSeeds?: readonly { host: string; port: number }[];
}

const log = createLogger('engine');

function startupMemoryUsage(): { used: number; active: number; rss: number } {
  const m = process.memoryUsage();
  return { used: m.heapUsed + m.external, active: m.heapTotal + m.external, rss: m.rss };
}

export class Engine implements ClientHost {
  private lastClientId = 0;
  readonly clients = new Map<number, EngineClient>();
  readonly startedAt = Date.now();
  /** The highest used_memory INFO has reported (Redis tracks its peak in serverCron). */
  memoryPeak = 0;
  /**
   * Memory when the engine was made, before any data: used (Redis's
   * initial_memory_usage, INFO used_memory_startup), V8's reserved heap and
   * the process's RSS (the baseline MEMORY DOCTOR measures from).
   */
  readonly startupMemory = startupMemoryUsage();
  /** CLIENT PAUSE in force: until when, and whether every command waits or only writes. */
  private clientPause: { until: number; all: boolean } | undefined;
  private pauseTimer: NodeJS.Timeout | undefined;
  /** Clients holding commands back until the pause ends. */
  private readonly pausedClients = new Set<EngineClient>();
  /** A null invalidation was sent in this turn of the event loop (FLUSHALL flushes every database in turn). */
  private flushInvalidated = false;
  /** maxclients: connections beyond it are refused. */
  private maxClients = 10000;
  readonly stats = new Stats();
  readonly config: Config;
  /** proto-max-bulk-len: the longest bulk argument a request may carry. */
  /** timeout in ms (0: clients are never closed for being idle), and when idle clients were last looked for. */
  private idleTimeoutMs = 0;
  private lastIdleCheck = 0;
  /** Clients with WATCHed keys, by database and key (leader-local, as in Redis). */
  readonly watchers: Map<string, Set<EngineClient>>[];
  /** WATCHed keys in all databases (the touch listener's quick test). */
  private watchedKeys = 0;
  readonly runId = crypto.randomBytes(20).toString('hex');
  readonly dispatcher: Dispatcher;
  /** Channel and pattern subscriptions of this node's clients. */
  readonly pubsub: PubSub;
  /** Present in --follower-writes proxy mode. */
  readonly proxy: Proxy | undefined;
  /** Stops the process as SIGTERM does (SHUTDOWN); see EngineOptions.shutdown. */
  readonly shutdown: ((reason: string) => void) | undefined;
  /** The numbered databases (SELECT); dbs.get(0) is where clients start. */
  readonly dbs: Databases;
  /** maxmemory: the leader's eviction (evict.ts). */
  readonly evictor: Evictor;
  /** The state machine the node applies committed entries through. */
  readonly applier: Applier;
  /** Sharding's replicated state (the slot map, the adopted map, released slots): shard-state.ts. */
  readonly shards: ShardState;
  /** Sharding's routing view: the newest map, the other groups' leaders; group 0's leader changes the map. */
  readonly shardRouter: ShardRouter;
  /** Keyspace notifications: emitted to this node's subscribers as writes are applied. */
  readonly notifier: KeyspaceNotifier;
  /** Client-side caching: the keys this node's tracking clients read (CLIENT TRACKING). */
  readonly tracking = new Tracking(this.clients);
  /** Lua scripting: the script cache (state-machine state) and the VM. */
  readonly scripts: Scripts;
  /** The members' status for the cluster page: answers peers' requests, gathers theirs. */
  readonly clusterStatus = new ClusterStatus(engineStatusPort(this));
  /** ACL users (replicated state) and this node's ACL LOG. */
  readonly acl: Acl;
  /** protected-mode, and whether the client port listens on a loopback address only (then no one else can connect anyway). */
  private protectedMode = true;
  /** The Raft driver; set by open() before any client connects. */
  node!: RaftisNode<Write>;
  readonly info: ServerInfo;
  readonly table: CommandTable;
  private expiry: ActiveExpiry | undefined;
  /** serverCron: active expiry, save points and a leader's eviction over maxmemory, hz times a second. */
  readonly cron = new ServerCron(
    () => {
      // maxmemory-clients: output the sockets took since.
      this.clientEviction.cron();
      // A script paused between slices: nothing reads or changes the keyspace until it ends (as serverCron does not run in Redis meanwhile).
      if (this.scripts.busy !== undefined) return;
      this.expiry?.cycle();
      this.evictor.cron();
      this.node?.snapshotPolicy.checkSavePoints();
    },
    () => this.clients.size,
  );
  private readonly sampler: NodeJS.Timeout;

  /** Builds the engine and opens its node (replaying the log through the applier). */
  static async open(opts: EngineOptions): Promise<Engine> {
    const e = new Engine(opts);
    try {
      e.node = await RaftisNode.open<Write>({
        ...opts.node,
        dbs: e.dbs,
        stateMachine: e.applier,
        onPeerFrame: (type, body, from) => {
          if (type === FrameType.StatusRequest || type === FrameType.StatusReply) e.clusterStatus.onFrame(type, body, from);
          else e.proxy?.onFrame(type, body, from);
        },
        onPubSub: (body, from) => e.pubsub.onFrame(body, from),
        changes: () => e.applier.changes,
      });
    } catch (err) {
      clearInterval(e.sampler);
      throw err;
    }
    e.expiry = new ActiveExpiry({
      node: e.node,
      dbs: e.dbs,
      entryTime: () => e.applier.entryTime(),
      held: () => e.clientPause !== undefined,
      effort: () => e.config.number('active-expire-effort'),
    });
    // Save points are this node's own (CONFIG SET save is never a log entry by itself).
    e.config.watch('save', () => {
      e.node.snapshotPolicy.savePoints = (e.config.param('save').value as [bigint, bigint][]).map(([s, c]): SavePoint => ({ seconds: Number(s), changes: Number(c) }));
    });
    e.cron.start();
    e.shardRouter.start();
    return e;
  }

  private constructor(opts: EngineOptions) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    this.info = opts.info;
    this.table = opts.table;
    this.shutdown = opts.shutdown;
    this.dbs = new Databases(opts.databases);
    // A per-hash-slot key index only where slots move (DRAIN, GETKEYSINSLOT, RELEASE): 8 bytes a key and a CRC16 per
    // new or deleted key, as Redis keeps slots_to_keys only with cluster-enabled (docs/decisions.md "Sharding: the per-slot key index").
    if (opts.info.group !== undefined) this.dbs.indexSlots();
    this.watchers = this.dbs.dbs.map(() => new Map<string, Set<EngineClient>>());
    const { port, bind, clusterPort } = opts.info;
    this.config = new Config({
      port: String(port),
      bind: bind ?? '127.0.0.1',
      dir: path.resolve(opts.node.dir),
      'cluster-port': clusterPort === undefined || clusterPort === port + 10000 ? '0' : String(clusterPort),
      databases: String(this.dbs.count),
      loglevel: redisLogLevel(),
    });
    for (const [name, source] of Object.entries(opts.configSources ?? {})) this.config.param(name).source = source;
    for (const p of opts.configFile?.params ?? []) {
      const error = this.config.load(p.name, p.args, p.source);
      if (error !== undefined) log.warn(`${p.source}: ${p.name}: ${error}`);
    }
    // --logfile on the command line is the Redis parameter too (CONFIG GET logfile).
    const logfile = opts.info.ownOptions?.find((o) => o.name === 'logfile');
    if (logfile?.source === 'command line') this.config.load('logfile', [logfile.value], logfile.source);
    this.sampler = setInterval(() => this.sample(), 100);
    this.sampler.unref();
    this.evictor = new Evictor({
      dbs: this.dbs,
      entryTime: () => this.applier.entryTime(),
      get node() {
        return self.node;
      },
    });
    this.acl = new Acl(this.table);
    // A deleted user's clients are closed on every node (ACLFreeUserAndKillClients); the one that ran the command after its reply.
    this.acl.onUserGone = (u: User) => {
      for (const c of [...this.clients.values()]) {
        if (c.user !== u) continue;
        c.user = this.acl.defaultUser;
        c.authenticated = false;
        c.closeAfterReply();
      }
    };
    this.seedUsers(opts.auth);
    this.acl.onUserChanged = (u: User) => {
      for (const c of [...this.clients.values()]) {
        if (c.user !== u || !c.inPubSub) continue;
        const allowed =
          [...c.channels, ...c.shardChannels].every((ch) => this.acl.allowsSubscription(u, ch, false)) &&
          [...c.patterns].every((p) => this.acl.allowsSubscription(u, p, true));
        if (!allowed) c.kill();
      }
    };
    this.watchConfig();
    this.dispatcher = new Dispatcher(this);
    this.onCommand = this.dispatcher.onCommand;
    const blocking = this.dispatcher.blocking;
    const tracking = this.tracking;
    const touch = {
      wanted: () => this.watchedKeys !== 0 || blocking.waiting || tracking.wanted,
      touched: (db: number, keys: readonly string[] | null) => {
        this.touchWatched(db, keys);
        blocking.touched(db, keys);
        tracking.touched(keys);
      },
      flushing: (db: number, replacedWith: number | undefined) => {
        this.touchFlushed(db, replacedWith);
        // FLUSHDB / FLUSHALL: one null invalidation (Redis tracks keys whatever their database;
        // FLUSHALL tells of each database in turn, in one apply).
        if (replacedWith === undefined && !this.flushInvalidated) {
          this.flushInvalidated = true;
          queueMicrotask(() => (this.flushInvalidated = false));
          tracking.touched(null);
        }
        // SWAPDB: the pops parked in db may now find data (served after the apply); FLUSHDB / FLUSHALL:
        // a parked XREADGROUP is answered UNBLOCKED, as redis-server 7.0.15 does.
        blocking.touched(db, null);
      },
      modified: (db: number, keys: readonly string[]) => {
        this.touchWatched(db, keys);
        tracking.touched(keys);
      },
      ready: (db: number, key: string) => blocking.keyReady(db, key),
      entryApplied: () => blocking.entryApplied(),
    };
    this.scripts = new Scripts(this.table, this.stats, touch, opts.scripts);
    this.scripts.onBusy = () => this.busyStarted();
    this.scripts.onBusyEnd = () => this.busyEnded();
    // Killing a script of a log entry: the leader proposes the decision (script-decision.ts).
    const decisions = new ScriptDecisions(this);
    this.scripts.proposeDecision = (index, kill) => decisions.propose(index, kill);
    this.scripts.isLeader = () => this.node !== undefined && this.node.isLeader;
    this.pubsub = new PubSub({ broadcast: (type, body) => this.node.broadcast(type, body) });
    this.scripts.pubsub = this.pubsub;
    this.scripts.acl = this.acl;
    // The applied configuration: one voter (the node may not be open yet while the engine is built).
    // …and not in a sharded cluster, where the slot rules hold whatever a group's size.
    this.scripts.standaloneNow = () => this.node !== undefined && this.node.voters.length === 1 && !this.shards.sharded;
    this.notifier = new KeyspaceNotifier(this.pubsub);
    for (let i = 0; i < this.dbs.count; i++) this.dbs.get(i).hooks = this.notifier.hooksFor(i);
    this.config.watch('notify-keyspace-events', () => (this.notifier.flags = this.config.param('notify-keyspace-events').value as number));
    this.shards = new ShardState(opts.info.group, this.dbs);
    this.shardRouter = new ShardRouter(this, opts.info.shardSeeds ?? []);
    this.shards.redirect = (slot) => this.shardRouter.redirect(slot);
    this.shards.ask = (slot, target) => this.shardRouter.askError(slot, target);
    this.scripts.servesSlot = (slot) => this.shards.serves(slot);
    this.scripts.movingRefuses = (db, keys, write) => this.shards.movingCheck(db, keys, write) !== undefined;
    this.applier = new Applier(this.dbs, this.table, this.stats, touch, this.scripts, { config: this.config, events: this.notifier, acl: this.acl, shards: this.shards });
    this.applier.tracking = tracking;
    this.proxy = opts.info.followerWrites === 'proxy' ? new Proxy(this) : undefined;
    if (this.proxy !== undefined) {
      const proxy = this.proxy;
      this.tracking.holdFor = (c) => proxy.hasWriteInFlight(c);
    }
  }

  /** Start-up's users: the ACL file's, then the default user's --requirepass (as Redis applies requirepass after loading the file). */
  private seedUsers(auth: EngineOptions['auth']): void {
    if (auth === undefined) return;
    if (auth.aclfile !== undefined && auth.aclfile !== '') {
      const file = path.resolve(auth.aclfile);
      this.config.param('aclfile').value = file;
      let text = '';
      try {
        text = fs.readFileSync(file, 'latin1');
      } catch (err) {
        // Redis starts with an ACL file that does not exist yet (ACL SAVE creates it).
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read the ACL file ${file}: ${(err as Error).message}`);
      }
      const users = this.acl.parseFile(text, file);
      if (typeof users === 'string') throw new Error(`the ACL file ${file} has errors; fix them and start again: ${users.trim()}`);
      this.acl.replaceAll(users);
    }
    if (auth.requirepass !== undefined) {
      this.config.param('requirepass').value = auth.requirepass;
      const staged = this.acl.staged('default');
      this.acl.applySetUser(staged, ['resetpass', auth.requirepass === '' ? 'nopass' : '>' + auth.requirepass]);
      this.acl.commitUser(staged);
    }
    if (auth.protectedMode !== undefined) this.config.param('protected-mode').value = auth.protectedMode;
  }

  /** The parameters that take effect in raftis (table entries with raftis: 'applied'), wired to what they drive. */
  private watchConfig(): void {
    const config = this.config;
    const stats = this.stats;
    const { slowlog, latencyMonitor } = stats;
    config.watch('slowlog-log-slower-than', () => (slowlog.slowerThan = config.number('slowlog-log-slower-than')));
    config.watch('slowlog-max-len', () => (slowlog.maxLen = config.number('slowlog-max-len')));
    config.watch('latency-monitor-threshold', () => (latencyMonitor.threshold = config.number('latency-monitor-threshold')));
    config.watch('latency-tracking', () => (stats.latencyTracking = config.param('latency-tracking').value as boolean));
    config.watch('latency-tracking-info-percentiles', () => {
      stats.latencyPercentiles = [...(config.param('latency-tracking-info-percentiles').value as number[])];
    });
    // Read by every connection at each use (ClientLimits): a change applies to connections already open.
    const limits = this.limits;
    config.watch('proto-max-bulk-len', () => (limits.maxBulkLen = config.number('proto-max-bulk-len')));
    config.watch('client-query-buffer-limit', () => (limits.queryBufferLimit = config.number('client-query-buffer-limit')));
    // New connections only, as Redis (anetKeepAlive at accept).
    config.watch('tcp-keepalive', () => (limits.keepAliveSeconds = config.number('tcp-keepalive')));
    // normal and pubsub; the replica class has no clients in raftis.
    config.watch('client-output-buffer-limit', () => {
      const [normal, , pubsub] = (config.param('client-output-buffer-limit').value as { hard: bigint; soft: bigint; seconds: bigint }[]).map((l) => ({
        hard: Number(l.hard),
        soft: Number(l.soft),
        seconds: Number(l.seconds),
      }));
      limits.outputLimits = [normal!, pubsub!];
      limits.outputLimited = limits.outputLimits.some((l) => l.hard !== 0 || l.soft !== 0);
    });
    // A percentage is of maxmemory: both are watched.
    const clientLimit = (): void => this.clientEviction.configure(config.param('maxmemory-clients').value as bigint, config.param('maxmemory').value as bigint);
    config.watch('maxmemory-clients', clientLimit);
    config.watch('maxmemory', clientLimit);
    config.watch('timeout', () => (this.idleTimeoutMs = config.number('timeout') * 1000));
    config.watch('maxclients', () => (this.maxClients = config.number('maxclients')));
    config.watch('protected-mode', () => (this.protectedMode = config.param('protected-mode').value as boolean));
    config.watch('acllog-max-len', () => (this.acl.logMaxLen = config.number('acllog-max-len')));
    config.watch('loglevel', () => setRedisLogLevel(config.get('loglevel') as RedisLogLevel));
    const cron = this.cron;
    config.watch('hz', () => ((cron.configHz = config.number('hz')), cron.update()));
    config.watch('dynamic-hz', () => ((cron.dynamic = config.param('dynamic-hz').value as boolean), cron.update()));
    // Cluster-wide (their CONFIG SET is a log entry): every replica converts encodings at the same write.
    config.watch('hash-max-listpack-entries', () => (encodingLimits.hashEntries = config.number('hash-max-listpack-entries')));
    config.watch('hash-max-listpack-value', () => (encodingLimits.hashValue = config.number('hash-max-listpack-value')));
    config.watch('zset-max-listpack-entries', () => (encodingLimits.zsetEntries = config.number('zset-max-listpack-entries')));
    config.watch('zset-max-listpack-value', () => (encodingLimits.zsetValue = config.number('zset-max-listpack-value')));
    config.watch('set-max-intset-entries', () => (encodingLimits.intsetEntries = config.number('set-max-intset-entries')));
    config.watch('stream-node-max-bytes', () => (encodingLimits.streamNodeBytes = config.number('stream-node-max-bytes')));
    config.watch('list-max-listpack-size', () => (encodingLimits.listFill = config.number('list-max-listpack-size')));
    config.watch('list-compress-depth', () => (encodingLimits.listCompress = config.number('list-compress-depth')));
    config.watch('stream-node-max-entries', () => (encodingLimits.streamNodeEntries = config.number('stream-node-max-entries')));
    config.watch('hll-sparse-max-bytes', () => (hllLimits.sparseMaxBytes = config.number('hll-sparse-max-bytes')));
    // Cluster-wide: ACL users are created when entries are applied, with the channels it gives them.
    config.watch('acl-pubsub-default', () => (this.acl.pubsubDefaultAll = config.get('acl-pubsub-default') === 'allchannels'));
    config.watch('tracking-table-max-keys', () => (this.tracking.maxKeys = config.number('tracking-table-max-keys')));
    // Cluster-wide: the leader evicts by them and replicates its choice; OBJECT FREQ / IDLETIME follow the policy.
    const evictor = this.evictor;
    config.watch('maxmemory', () => {
      evictor.maxmemory = config.number('maxmemory');
      // updateMaxmemory: a limit below what is used is evicted down to at once, without waiting for a command (the leader's).
      if (evictor.maxmemory !== 0) evictor.startBackground();
    });
    config.watch('maxmemory-policy', () => {
      evictor.policy = config.get('maxmemory-policy') as Policy;
      for (const ks of this.dbs.dbs) ks.clocks.isLfu = evictor.policy.endsWith('-lfu');
    });
    config.watch('maxmemory-samples', () => (evictor.samples = config.number('maxmemory-samples')));
    config.watch('maxmemory-eviction-tenacity', () => (evictor.tenacity = config.number('maxmemory-eviction-tenacity')));
    config.watch('lfu-log-factor', () => {
      for (const ks of this.dbs.dbs) ks.clocks.logFactor = config.number('lfu-log-factor');
    });
    config.watch('lfu-decay-time', () => {
      for (const ks of this.dbs.dbs) ks.clocks.decayTime = config.number('lfu-decay-time');
    });
  }

  /** Every 100 ms: the instantaneous counters, and once a second the idle clients (clientsCron). */
  private sample(): void {
    const now = Date.now();
    this.stats.sample(now);
    // The access clocks' coarse time (Redis caches its LRU clock in serverCron).
    for (const ks of this.dbs.dbs) ks.clocks.now = now;
    if (this.idleTimeoutMs > 0 && now - this.lastIdleCheck >= 1000) {
      this.lastIdleCheck = now;
      this.closeIdleClients(now);
    }
  }

  /**
   * timeout: a client that sent nothing for longer is closed, unless it is
   * blocked, subscribed or a MONITOR (clientsCronHandleTimeout).
   */
  private closeIdleClients(now: number): void {
    for (const c of this.clients.values()) {
      if (now - c.lastInteraction <= this.idleTimeoutMs) continue;
      if (c.inPubSub || this.stats.monitors.has(c) || this.dispatcher.blocking.isBlocked(c)) continue;
      c.kill();
    }
  }

  /** Stops the engine's timers and closes the node (the network layer is closed first). */
  async close(): Promise<void> {
    this.cron.stop();
    this.evictor.stop();
    clearInterval(this.sampler);
    this.stopped = true;
    if (this.busyTimer !== undefined) clearTimeout(this.busyTimer);
    if (this.pauseTimer !== undefined) clearTimeout(this.pauseTimer);
    this.clusterStatus.close();
    this.shardRouter.stop();
    await this.node.close();
  }

  // ---- ClientHost: what a connection needs of the server ----------------------------

  nextClientId(): number {
    return ++this.lastClientId;
  }

  get firstDb(): Keyspace {
    return this.dbs.get(0);
  }

  get io(): Stats {
    return this.stats;
  }

  get errorReply(): (text: string) => void {
    return this.stats.errorReply;
  }

  /** maxmemory-clients (per node: the connections this node holds). */
  readonly clientEviction = new ClientEviction();

  /** Redis's limits on a client's input, as CONFIG SET leaves them. */
  readonly limits: ClientLimits = { maxBulkLen: 512 * 1024 * 1024, queryBufferLimit: 1024 * 1024 * 1024, outputLimits: [], outputLimited: false, keepAliveSeconds: 300 };

  /** Runs a parsed request (the dispatcher's entry point itself: no extra call per request). */
  readonly onCommand: (c: EngineClient, argv: string[]) => void;

  /**
   * A plain `SET key value` in a client's read buffer (ClientHost.plainSet):
   * proposed from its bytes, or false when it must go through onCommand
   * (Dispatcher.plainSet; CLIENT PAUSE holds it back there, mustWait).
   */
  plainSet(c: EngineClient, buf: Uint8Array, nameAt: number, keyAt: number, keyEnd: number, valueAt: number, valueEnd: number): boolean {
    return this.clientPause === undefined && this.dispatcher.plainSet(c, buf, nameAt, keyAt, keyEnd, valueAt, valueEnd);
  }

  mayRunNow(c: EngineClient, argv: string[], held: boolean): boolean {
    if (held && !this.dispatcher.mayPassHold(c, argv)) return false;
    if (!this.mustWait(c, argv)) return true;
    if (held) this.dispatcher.forgetPassed();
    return false;
  }

  /**
   * maxclients (acceptCommonHandler): a connection beyond it gets Redis's
   * cluster-mode error and is closed, counted in rejected_connections.
   */
  authRequired(): boolean {
    return this.acl.authRequired;
  }

  refuseConnection(remoteAddress?: string): string | undefined {
    if (this.protectedMode && remoteAddress !== undefined && refusedByProtectedMode(this.acl.defaultUser.nopass, remoteAddress)) return DENIED_PROTECTED;
    if (this.clients.size < this.maxClients) return undefined;
    this.stats.rejectedConnections++;
    return 'ERR max number of clients + cluster connections reached';
  }

    addClient(c: EngineClient): void {
    c.user = this.acl.defaultUser;
    c.authenticated = this.acl.startsAuthenticated;
    this.clients.set(c.id, c);
    this.stats.totalConnections++;
    this.clientEviction.add(c);
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

  // ---- a script paused between slices (Scripts.busy) ----------------------------------

  /** Clients whose commands wait for the busy script's end (or for busy-reply-threshold, then answered BUSY). */
  private readonly busyHeld = new Set<EngineClient>();
  private busyTimer: NodeJS.Timeout | undefined;
  /** busy-reply-threshold has passed for the busy script: commands run (the dispatcher answers BUSY to all but allow_busy). */
  busyReplies = false;
  /** What waits for the end of a busy read-path script: its reply's release. */
  private busyDone: (() => void) | undefined;

  /** The busy-reply-threshold (lua-time-limit) on this node, in ms. */
  private busyThreshold(): number {
    return this.config.number('busy-reply-threshold');
  }

  private busyStarted(): void {
    const b = this.scripts.busy!;
    this.busyReplies = false;
    const wait = Math.max(0, b.started + this.busyThreshold() - Date.now());
    this.busyTimer = setTimeout(() => {
      this.busyTimer = undefined;
      if (this.scripts.busy !== b) return;
      this.busyReplies = true;
      this.resumeBusyHeld(b.client);
    }, wait);
    // A read-path script is driven here; one of a log entry by the Raft loop (StateMachine.continueApply).
    if (!b.applied) setImmediate(this.stepReadScript);
  }

  private stopped = false;

  private readonly stepReadScript = (): void => {
    if (this.stopped || this.scripts.busy === undefined || this.scripts.busy.applied) return;
    if (!this.scripts.resumeBusy()) setImmediate(this.stepReadScript);
  };

  private busyEnded(): void {
    if (this.busyTimer !== undefined) clearTimeout(this.busyTimer);
    this.busyTimer = undefined;
    this.busyReplies = false;
    const done = this.busyDone;
    this.busyDone = undefined;
    done?.();
    // After the rest of the Raft loop's batch (the clients' commands come after it).
    setImmediate(() => this.resumeBusyHeld(undefined));
  }

  /** Called by the dispatcher after a read-path script command ran: `release` now, or when the script it started ends. */
  afterReadScript(release: () => void): void {
    const b = this.scripts.busy;
    if (b !== undefined && !b.applied && this.busyDone === undefined) this.busyDone = release;
    else release();
  }

  private resumeBusyHeld(except: unknown): void {
    const held = [...this.busyHeld].filter((c) => c !== except);
    for (const c of held) this.busyHeld.delete(c);
    for (const c of held) c.resume();
  }

  /** Whether c must hold argv back because of CLIENT PAUSE (it is then resumed when the pause ends), or a busy script. */
  mustWait(c: EngineClient, argv: string[]): boolean {
    const b = this.scripts.busy;
    if (b !== undefined && (!this.busyReplies || c === b.client)) {
      this.busyHeld.add(c);
      return true;
    }
    const p = this.clientPause;
    if (p === undefined) return false;
    if (!p.all) {
      const def = this.table.lookup(argv);
      if (def === undefined) return false;
      // Inside MULTI commands are queued, not run: the EXEC of a transaction holding a write waits instead.
      const held = c.multi === undefined ? def.mayReplicate : def.name === 'exec' && c.multi.some((a) => this.table.lookup(a)?.mayReplicate === true);
      if (!held) return false;
      // A script that declares no-writes (shebang or function flags) is not held (Redis's scriptFlagsToCmdFlags).
      if (c.multi === undefined && this.scriptDeclaresNoWrites(def.name, argv)) return false;
    }
    this.pausedClients.add(c);
    return true;
  }

  /** EVAL / EVALSHA / FCALL of a script known here to declare no-writes (evalGetCommandFlags, fcallGetCommandFlags). */
  private scriptDeclaresNoWrites(name: string, argv: readonly string[]): boolean {
    if (name === 'fcall') return this.scripts.functionMayWrite(argv[1]!) === false;
    if (name === 'eval' || name === 'evalsha') return this.scripts.declaresNoWrites(argv, name === 'evalsha');
    return false;
  }

    removeClient(c: EngineClient): void {
    this.clients.delete(c.id);
    this.clientEviction.remove(c);
    this.stats.monitors.delete(c);
    this.pausedClients.delete(c);
    this.busyHeld.delete(c);
    this.unwatchAll(c);
    this.pubsub.unsubscribeAll(c);
    this.tracking.disable(c);
  }

  watch(c: EngineClient, db: number, key: string, expiredAtWatch: boolean): void {
    const id = `${db} ${key}`;
    if (c.watched.has(id)) return;
    c.watched.set(id, { key, db, expiredAtWatch });
    const watchers = this.watchers[db]!;
    let set = watchers.get(key);
    if (!set) {
      watchers.set(key, (set = new Set()));
      this.watchedKeys++;
    }
    set.add(c);
  }

  unwatchAll(c: EngineClient): void {
    for (const wk of c.watched.values()) {
      const watchers = this.watchers[wk.db]!;
      const set = watchers.get(wk.key);
      if (set) {
        set.delete(c);
        if (set.size === 0) {
          watchers.delete(wk.key);
          this.watchedKeys--;
        }
      }
    }
    c.watched.clear();
    c.watchDirty = false;
  }

  /**
   * Redis's touchAllWatchedKeysInDb, before database db is emptied or gets
   * database replacedWith's contents: marks the clients watching a key
   * that exists in either (a key that had expired when WATCHed and is
   * not in replacedWith is no change: its flag is cleared).
   */
  private touchFlushed(db: number, replacedWith: number | undefined): void {
    const watchers = this.watchers[db];
    if (watchers === undefined || watchers.size === 0) return;
    const emptied = this.dbs.get(db);
    const other = replacedWith === undefined ? undefined : this.dbs.get(replacedWith);
    for (const [key, set] of watchers) {
      // -Infinity: present in the table, expired or not (Redis's dictFind).
      const inOther = other !== undefined && other.get(key, Number.NEGATIVE_INFINITY) !== undefined;
      if (!inOther && emptied.get(key, Number.NEGATIVE_INFINITY) === undefined) continue;
      for (const c of set) {
        const wk = c.watched.get(`${db} ${key}`);
        if (wk !== undefined && wk.expiredAtWatch && !inOther) wk.expiredAtWatch = false;
        else c.watchDirty = true;
      }
    }
  }

  /** Marks the clients watching `keys` of database `db` (-1: every database; keys null: every key). */
  private touchWatched(db: number, keys: readonly string[] | null): void {
    if (this.watchedKeys === 0) return;
    if (db < 0) {
      for (let i = 0; i < this.watchers.length; i++) this.touchWatched(i, keys);
      return;
    }
    const watchers = this.watchers[db];
    if (watchers === undefined || watchers.size === 0) return;
    if (keys === null) {
      for (const set of watchers.values()) for (const c of set) c.watchDirty = true;
      return;
    }
    for (const k of keys) {
      const set = watchers.get(k);
      if (set) for (const c of set) c.watchDirty = true;
    }
  }
}

/** networking.c's reply to a client protected mode refuses (redis-server 7.0.15's text, its typo included). */
export const DENIED_PROTECTED =
  "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.";

/**
 * Protected mode (clientAcceptHandler): with protected-mode yes and the
 * default user without a password, only loopback clients are served
 * (connIsLocal: 127.0.0.0/8 or ::1, IPv4 ones also as ::ffff:127.x).
 */
export function refusedByProtectedMode(defaultNopass: boolean, remoteAddress: string): boolean {
  if (!defaultNopass) return false;
  const a = remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
  return !(a.startsWith('127.') || a === '::1');
}
