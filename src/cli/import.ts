/**
 * `raftis import`: loads a Redis dataset into a running raftis cluster.
 *
 *   raftis import dump.rdb --host 127.0.0.1 --port 7001 [--replace] [--db n]
 *   raftis import --from redis-host:6379 --port 7001
 *
 * From an RDB file written by redis-server (SAVE, BGSAVE, --dbfilename;
 * RDB versions up to 10, Redis 7.0): every key of every database (its
 * SELECTDB opcodes) with its TTL, and the function libraries. From a live
 * server (--from): INFO keyspace names the non-empty databases, then per
 * database SELECT, SCAN, DUMP and PTTL of each key; and FUNCTION DUMP.
 * Each key becomes a `RESTORE key <abs-ms> payload ABSTTL [REPLACE]` sent
 * after `SELECT n` to the same-numbered raftis database, pipelined in
 * batches to the node given, following MOVED to the leader (and retrying
 * TRYAGAIN / CLUSTERDOWN), so each key is one Raft log entry applied on
 * every node. Keys already expired are skipped. With --db n only that
 * database is imported (the keys of others are counted and reported). A
 * source database raftis does not have (n >= its `databases`) is refused
 * before anything is written.
 *
 * A file is read whole (every record decoded, the CRC64 checked) before
 * the first write, so a truncated or damaged file imports nothing; the
 * error names the byte offset (rdb-file.ts) and the exit code is 1. On a
 * terminal (or with --progress) stderr shows a progress bar
 * (import-progress.ts); stdout gets one summary line at the end.
 */
import fs from 'node:fs';
import yargs from 'yargs';
import { RdbFileError, dumpPayloadOf, readRdbFile } from './rdb-file.js';
import { RespPipe, type Arg, type Reply } from './resp-pipe.js';
import { ImportProgress } from './import-progress.js';

interface Counts {
  keys: number;
  withTtl: number;
  expired: number;
  otherDbs: Map<number, number>;
  /** The databases keys were imported into. */
  dbs: Set<number>;
  functions: number;
  errors: number;
  /** Called once the number of keys the source has is known. */
  onTotal: (total: number) => void;
}

/** The source's keys dealt with so far: imported, skipped, or refused by the cluster. */
function keysDone(c: Counts): number {
  let other = 0;
  for (const n of c.otherDbs.values()) other += n;
  return c.keys + c.expired + c.errors + other;
}

const MAX_SHOWN_ERRORS = 10;
const MAX_ATTEMPTS = 60;

/** Sends write batches to the cluster, following MOVED and retrying TRYAGAIN / CLUSTERDOWN. */
class Target {
  private conn: RespPipe | undefined;
  private db = 0;
  readonly errors: string[] = [];

  constructor(
    private host: string,
    private port: number,
    private readonly counts: Counts,
  ) {}

  private async connection(): Promise<RespPipe> {
    if (this.conn === undefined) {
      const conn = await RespPipe.connect(this.host, this.port);
      this.conn = conn;
      if (this.db !== 0) await this.selectOn(conn);
    }
    return this.conn;
  }

  private async selectOn(conn: RespPipe): Promise<void> {
    const r = await conn.call('SELECT', String(this.db));
    if (r instanceof Error) throw new Error(`SELECT ${this.db} on ${this.address}: ${r.message}`);
  }

  /** Sends the following commands to database `db` (SELECT on this and any later connection). */
  async select(db: number): Promise<void> {
    if (db === this.db) return;
    this.db = db;
    if (this.conn !== undefined) await this.selectOn(this.conn);
  }

  /** The cluster's number of databases (CONFIG GET databases), or undefined when it does not say. */
  async databases(): Promise<number | undefined> {
    const r = await (await this.connection()).call('CONFIG', 'GET', 'databases');
    if (!Array.isArray(r) || !Buffer.isBuffer(r[1])) return undefined;
    const n = Number(r[1].toString());
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  }

  /** Sends the commands; `onOk` is called for each that succeeded. */
  async send(cmds: Arg[][], onOk: (i: number) => void): Promise<void> {
    let pending = cmds.map((c, i) => ({ c, i }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_ATTEMPTS) throw new Error(`gave up after ${MAX_ATTEMPTS} attempts: the cluster keeps answering ${pending.length} commands with redirects or TRYAGAIN`);
      const conn = await this.connection();
      const replies = await conn.batch(pending.map((p) => p.c));
      const retry: typeof pending = [];
      let moved: { host: string; port: number } | undefined;
      replies.forEach((rep: Reply, k) => {
        const p = pending[k]!;
        if (!(rep instanceof Error)) return onOk(p.i);
        const m = /^MOVED \d+ (.+):(\d+)$/.exec(rep.message);
        if (m) {
          moved = { host: m[1]!, port: Number(m[2]) };
          retry.push(p);
        } else if (/^(TRYAGAIN|CLUSTERDOWN)\b/.test(rep.message)) {
          retry.push(p);
        } else {
          this.counts.errors++;
          if (this.errors.length < MAX_SHOWN_ERRORS) this.errors.push(`${String(p.c[0])} ${String(p.c[1]).slice(0, 80)}: ${rep.message}`);
        }
      });
      pending = retry;
      if (pending.length === 0) return;
      if (moved !== undefined && (moved.host !== this.host || moved.port !== this.port)) {
        this.conn?.close();
        this.conn = undefined;
        this.host = moved.host;
        this.port = moved.port;
      } else {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  close(): void {
    this.conn?.close();
  }
}

function restoreCmd(key: Buffer, payload: Buffer, expireAt: number | undefined, replace: boolean): Arg[] {
  const cmd: Arg[] = ['RESTORE', key, expireAt === undefined ? '0' : String(expireAt), payload];
  if (expireAt !== undefined) cmd.push('ABSTTL');
  if (replace) cmd.push('REPLACE');
  return cmd;
}

/**
 * Refuses (before anything is written) a source database the cluster does not
 * have: `keysByDb` holds the source's non-empty databases to import.
 */
async function checkDatabases(keysByDb: Map<number, number>, target: Target): Promise<void> {
  const have = await target.databases();
  if (have === undefined) return; // SELECT will say so
  const missing = [...keysByDb.keys()].filter((db) => db >= have).sort((x, y) => x - y);
  if (missing.length === 0) return;
  const list = missing.map((db) => `${db} (${keysByDb.get(db)} keys)`).join(', ');
  throw new Error(
    `the source has keys in database${missing.length > 1 ? 's' : ''} ${list} but the raftis cluster at ${target.address} has ${have} databases (0-${have - 1}); ` +
      `nothing was imported. Restart every raftis node with --databases ${missing[missing.length - 1]! + 1} (or more), or import the databases it has one at a time with --db n`,
  );
}

async function fromFile(file: string, only: number | undefined, target: Target, counts: Counts, replace: boolean, batchSize: number): Promise<void> {
  const buf = fs.readFileSync(file);
  // The whole file is read (and its checksum checked) before anything is
  // written: a damaged or truncated file imports nothing.
  const keysByDb = new Map<number, number>();
  let total = 0;
  for (const item of readRdbFile(buf)) {
    if (item.kind !== 'key') continue;
    total++;
    if (only === undefined || item.db === only) keysByDb.set(item.db, (keysByDb.get(item.db) ?? 0) + 1);
  }
  counts.onTotal(total);
  if (only !== undefined && !keysByDb.has(only)) keysByDb.set(only, 0);
  await checkDatabases(keysByDb, target);
  let batch: Arg[][] = [];
  let ttls: boolean[] = [];
  const flush = async (): Promise<void> => {
    const t = ttls;
    await target.send(batch, (i) => {
      counts.keys++;
      if (t[i]) counts.withTtl++;
    });
    batch = [];
    ttls = [];
  };
  const now = Date.now();
  let db = -1;
  for (const item of readRdbFile(buf)) {
    if (item.kind === 'aux') continue;
    if (item.kind === 'function') {
      await target.send([replace ? ['FUNCTION', 'LOAD', 'REPLACE', item.code] : ['FUNCTION', 'LOAD', item.code]], () => counts.functions++);
      continue;
    }
    if (only !== undefined && item.db !== only) {
      counts.otherDbs.set(item.db, (counts.otherDbs.get(item.db) ?? 0) + 1);
      continue;
    }
    if (item.expireAt !== undefined && item.expireAt <= now) {
      counts.expired++;
      continue;
    }
    if (item.db !== db) {
      if (batch.length > 0) await flush();
      await target.select(item.db);
      db = item.db;
      counts.dbs.add(db);
    }
    batch.push(restoreCmd(item.key, dumpPayloadOf(item.object), item.expireAt, replace));
    ttls.push(item.expireAt !== undefined);
    if (batch.length >= batchSize) await flush();
  }
  if (batch.length > 0) await flush();
}

/** The non-empty databases of a live server and their key counts (INFO keyspace: `db3:keys=1,expires=0,…`). */
async function sourceDatabases(src: RespPipe, addr: string): Promise<Map<number, number>> {
  const info = await src.call('INFO', 'keyspace');
  if (!Buffer.isBuffer(info)) throw new Error(`INFO keyspace on ${addr} failed: ${String(info)}`);
  const dbs = new Map<number, number>();
  for (const m of info.toString().matchAll(/^db(\d+):keys=(\d+)/gm)) dbs.set(Number(m[1]), Number(m[2]));
  return dbs;
}

async function copyDatabase(src: RespPipe, addr: string, db: number, target: Target, counts: Counts, replace: boolean, batchSize: number): Promise<void> {
  const sel = await src.call('SELECT', String(db));
  if (sel instanceof Error) throw new Error(`SELECT ${db} on ${addr}: ${sel.message}`);
  await target.select(db);
  counts.dbs.add(db);
  let cursor = '0';
  do {
    const r = await src.call('SCAN', cursor, 'COUNT', String(batchSize));
    if (r instanceof Error || !Array.isArray(r)) throw new Error(`SCAN on ${addr} failed: ${String(r)}`);
    cursor = String(r[0]);
    const keys = r[1] as Buffer[];
    if (keys.length === 0) continue;
    const replies = await src.batch(keys.flatMap((k) => [['DUMP', k], ['PTTL', k]]));
    const now = Date.now();
    const cmds: Arg[][] = [];
    const ttls: boolean[] = [];
    keys.forEach((k, i) => {
      const payload = replies[2 * i];
      const pttl = replies[2 * i + 1];
      if (!Buffer.isBuffer(payload) || typeof pttl !== 'number' || pttl === -2) return; // gone meanwhile
      const expireAt = pttl >= 0 ? now + pttl : undefined;
      cmds.push(restoreCmd(k, payload, expireAt, replace));
      ttls.push(expireAt !== undefined);
    });
    await target.send(cmds, (i) => {
      counts.keys++;
      if (ttls[i]) counts.withTtl++;
    });
  } while (cursor !== '0');
}

async function fromServer(addr: string, only: number | undefined, target: Target, counts: Counts, replace: boolean, batchSize: number): Promise<void> {
  const m = /^(.+):(\d+)$/.exec(addr);
  if (!m) throw new Error(`--from must be host:port, got '${addr}'`);
  const src = await RespPipe.connect(m[1]!, Number(m[2]));
  try {
    const all = await sourceDatabases(src, addr);
    const dbs = only === undefined ? all : new Map([[only, all.get(only) ?? 0]]);
    if (only !== undefined) for (const [db, n] of all) if (db !== only) counts.otherDbs.set(db, n);
    counts.onTotal([...all.values()].reduce((a, b) => a + b, 0));
    await checkDatabases(dbs, target);
    const fns = await src.call('FUNCTION', 'DUMP');
    if (Buffer.isBuffer(fns) && fns.length > 10) {
      await target.send([replace ? ['FUNCTION', 'RESTORE', fns, 'REPLACE'] : ['FUNCTION', 'RESTORE', fns]], () => counts.functions++);
    }
    for (const db of [...dbs.keys()].sort((x, y) => x - y)) await copyDatabase(src, addr, db, target, counts, replace, batchSize);
  } finally {
    src.close();
  }
}

/** Runs `raftis import …`; returns the exit code. */
export async function importMain(args: string[]): Promise<number> {
  const argv = await yargs(args)
    .scriptName('raftis import')
    .usage('$0 [file.rdb] [options]\n\nLoads a Redis dataset (an RDB file, or a live redis-server with --from) into a running raftis cluster with RESTORE.')
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'a raftis node (writes follow MOVED to the leader)' })
    .option('port', { type: 'number', default: 6379, describe: 'its client port' })
    .option('from', { type: 'string', describe: 'copy a live redis-server at host:port (SCAN, DUMP, PTTL) instead of reading a file' })
    .option('db', { type: 'number', describe: 'import only this source database (into the same-numbered one); by default every database is' })
    .option('replace', { type: 'boolean', default: false, describe: 'replace keys (and function libraries) that already exist; without it they are reported as errors' })
    .option('batch', { type: 'number', default: 256, describe: 'commands per pipelined batch' })
    .option('quiet', { type: 'boolean', default: false, describe: 'no progress bar' })
    .option('progress', { type: 'boolean', describe: 'show the progress bar on stderr [default: when stderr is a terminal]' })
    .strictOptions()
    .version(false)
    .help()
    .parseAsync();
  const file = argv._[0] === undefined ? undefined : String(argv._[0]);
  if ((file === undefined) === (argv.from === undefined)) {
    process.stderr.write('raftis import: give either an RDB file or --from host:port\n');
    return 1;
  }
  if (!Number.isSafeInteger(argv.batch) || argv.batch < 1) {
    process.stderr.write('raftis import: --batch must be a positive integer\n');
    return 1;
  }
  if (argv.db !== undefined && (!Number.isSafeInteger(argv.db) || argv.db < 0)) {
    process.stderr.write('raftis import: --db must be a database number (0 or more)\n');
    return 1;
  }
  const showProgress = !argv.quiet && (argv.progress ?? process.stderr.isTTY === true);
  let progress: ImportProgress | undefined;
  const counts: Counts = {
    keys: 0,
    withTtl: 0,
    expired: 0,
    otherDbs: new Map(),
    dbs: new Set(),
    functions: 0,
    errors: 0,
    // The bar is drawn from when the source's size is known (the file's first pass, or INFO keyspace).
    onTotal: (total) => {
      if (!showProgress) return;
      progress = new ImportProgress(process.stderr, () => keysDone(counts));
      progress.start(total);
    },
  };
  const target = new Target(argv.host, argv.port, counts);
  const started = Date.now();
  try {
    if (file !== undefined) await fromFile(file, argv.db, target, counts, argv.replace, argv.batch);
    else await fromServer(argv.from!, argv.db, target, counts, argv.replace, argv.batch);
  } catch (e) {
    progress?.stop();
    const msg = e instanceof RdbFileError ? `${file}: ${e.message}` : (e as Error).message;
    const before =
      counts.keys === 0 && counts.functions === 0 ? 'nothing was imported' : `${counts.keys} keys and ${counts.functions} function libraries were imported before`;
    process.stderr.write(`raftis import: ${msg}; ${before}\n`);
    return 1;
  } finally {
    target.close();
  }
  progress?.stop();
  for (const [db, n] of counts.otherDbs) process.stderr.write(`raftis import: warning: ${n} keys of database ${db} not imported (only --db ${argv.db} is)\n`);
  for (const e of target.errors) process.stderr.write(`raftis import: error: ${e}\n`);
  const ms = Date.now() - started;
  const secs = (ms / 1000).toFixed(1);
  const rate = ms > 0 ? Math.round((counts.keys * 1000) / ms) : counts.keys;
  process.stdout.write(
    `imported ${counts.keys} keys (${counts.withTtl} with a TTL) and ${counts.functions} function libraries into ${target.address} (databases ${[...counts.dbs].sort((x, y) => x - y).join(', ') || 'none'}) in ${secs} s (${rate} keys/s); ` +
      `skipped ${counts.expired} expired keys and ${[...counts.otherDbs.values()].reduce((a, b) => a + b, 0)} keys of other databases; ${counts.errors} errors\n`,
  );
  return counts.errors > 0 ? 1 : 0;
}
