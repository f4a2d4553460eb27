/**
 * MEMORY STATS, DOCTOR, MALLOC-STATS and PURGE (object.c, 7.0.15), and the
 * memory breakdown INFO memory shows (getMemoryOverheadData).
 *
 * raftis's memory is V8's: used memory is the heap in use plus external
 * buffers (INFO's used_memory), the dataset is the keyspace's deterministic
 * size (keyspace/used-memory.ts, what maxmemory compares), and V8 stands for
 * the allocator (allocated: in use; active and resident: the heap V8
 * reserved, plus external buffers; the rest of the RSS is the process's own). The overheads are Redis's own estimates where raftis
 * has the same thing (a main and an expires hash table per database, the
 * slot-to-keys links of cluster mode, clients' output buffers, the scripts'
 * caches). Answered from local state; never replicated.
 */
import type { Engine } from './engine/engine.js';
import { formatG17 } from '../util/double.js';
import type { ConnHandler } from './table.js';

/** sizeof(dictEntry), sizeof(dictEntry*), sizeof(robj) and sizeof(clusterDictEntryMetadata) on 64 bits. */
const DICT_ENTRY = 24;
const POINTER = 8;
const ROBJ = 16;
const SLOT_TO_KEYS_ENTRY = 16;

/** A dict's table size for n entries: the next power of two, at least 4 (DICT_HT_INITIAL_SIZE); 0 when empty. */
function dictSlots(n: number): number {
  if (n === 0) return 0;
  let s = 4;
  while (s < n) s *= 2;
  return s;
}

/** struct redisMemOverhead, as raftis fills it. */
export interface MemoryOverhead {
  peakAllocated: number;
  totalAllocated: number;
  startupAllocated: number;
  clientsNormal: number;
  luaCaches: number;
  functionsCaches: number;
  dbs: { id: number; main: number; expires: number; slotToKeys: number }[];
  overheadTotal: number;
  dataset: number;
  totalKeys: number;
  bytesPerKey: number;
  datasetPerc: number;
  peakPerc: number;
  allocatorAllocated: number;
  allocatorActive: number;
  allocatorResident: number;
  rss: number;
}

/** The numbers every memory report is made of (getMemoryOverheadData); updates the peak as Redis's cron does. */
export function memoryOverhead(s: Engine): MemoryOverhead {
  const mem = process.memoryUsage();
  const used = mem.heapUsed + mem.external;
  s.memoryPeak = Math.max(s.memoryPeak, used);
  const lua = s.scripts.memory();
  let clientsNormal = 0;
  for (const cl of s.clients.values()) clientsNormal += cl.outputBytes;
  let overhead = s.startupMemory.used + clientsNormal + lua.scriptBytes + lua.libraryBytes;
  const dbs: MemoryOverhead['dbs'] = [];
  let totalKeys = 0;
  s.node.dbs.dbs.forEach((db, id) => {
    const keys = db.size;
    if (keys === 0) return;
    totalKeys += keys;
    const main = keys * DICT_ENTRY + dictSlots(keys) * POINTER + keys * ROBJ;
    const expires = db.expiresCount * DICT_ENTRY + dictSlots(db.expiresCount) * POINTER;
    // raftis is always in cluster mode (INFO cluster_enabled:1).
    const slotToKeys = keys * SLOT_TO_KEYS_ENTRY;
    overhead += main + expires + slotToKeys;
    dbs.push({ id, main, expires, slotToKeys });
  });
  const net = used > s.startupMemory.used ? used - s.startupMemory.used : 1;
  const dataset = s.node.dbs.usedMemory();
  return {
    peakAllocated: s.memoryPeak,
    totalAllocated: used,
    startupAllocated: s.startupMemory.used,
    clientsNormal,
    luaCaches: lua.scriptBytes,
    functionsCaches: lua.libraryBytes,
    dbs,
    overheadTotal: overhead,
    dataset,
    totalKeys,
    bytesPerKey: totalKeys === 0 ? 0 : Math.floor(net / totalKeys),
    // Redis keeps these two as C floats.
    datasetPerc: Math.fround((dataset * 100) / net),
    peakPerc: Math.fround((used * 100) / s.memoryPeak),
    allocatorAllocated: used,
    allocatorActive: mem.heapTotal + mem.external,
    allocatorResident: mem.heapTotal + mem.external,
    rss: mem.rss,
  };
}

/** The ratios and differences Redis derives from the allocator's numbers (C floats, as Redis keeps them). */
export function fragmentation(mh: MemoryOverhead): {
  allocatorFrag: number;
  allocatorFragBytes: number;
  allocatorRss: number;
  allocatorRssBytes: number;
  rssExtra: number;
  rssExtraBytes: number;
  totalFrag: number;
  totalFragBytes: number;
} {
  return {
    allocatorFrag: Math.fround(mh.allocatorActive / mh.allocatorAllocated),
    allocatorFragBytes: mh.allocatorActive - mh.allocatorAllocated,
    allocatorRss: Math.fround(mh.allocatorResident / mh.allocatorActive),
    allocatorRssBytes: mh.allocatorResident - mh.allocatorActive,
    rssExtra: Math.fround(mh.rss / mh.allocatorResident),
    rssExtraBytes: mh.rss - mh.allocatorResident,
    totalFrag: Math.fround(mh.rss / mh.totalAllocated),
    totalFragBytes: mh.rss - mh.totalAllocated,
  };
}

const MB10 = 10 << 20;

/**
 * getMemoryDoctorReport (object.c, 7.0.15), its rules and texts verbatim,
 * applied to the memory above the process's baseline at startup (`base`):
 * an idle Node.js process already holds some 20 MB of heap and 60 MB of RSS
 * (its code, V8's reserved spaces) that redis-server's C process does not,
 * and which Redis's absolute thresholds would read as an instance in use
 * with a fragmentation problem.
 */
export function memoryDoctorReport(mh: MemoryOverhead, base: { used: number; active: number; rss: number }, numClients: number, cachedScripts: number): string {
  const net = (x: number, b: number): number => Math.max(x - b, 1);
  const total = net(mh.totalAllocated, base.used);
  const peak = net(mh.peakAllocated, base.used);
  const active = net(mh.allocatorActive, base.active);
  const rss = net(mh.rss, base.rss);
  const allocatorFrag = Math.fround(active / total);
  const totalFrag = Math.fround(rss / total);
  const rssExtra = Math.fround(rss / active);
  const issues: string[] = [];
  if (total < 1024 * 1024 * 5) return DOCTOR.empty;
  if (peak / total > 1.5) issues.push(DOCTOR.bigPeak);
  if (totalFrag > 1.4 && rss - total > MB10) issues.push(DOCTOR.highFrag);
  if (allocatorFrag > 1.1 && active - total > MB10) issues.push(DOCTOR.highAllocFrag);
  // allocator.resident is allocator.active (V8 reports no resident size of its own): never "High allocator RSS overhead".
  if (rssExtra > 1.1 && rss - active > MB10) issues.push(DOCTOR.highProcRss);
  // No replicas in Redis's sense (Raft followers are no clients): never "Big replica buffers".
  if (numClients > 0 && Math.floor(mh.clientsNormal / numClients) > 1024 * 200) issues.push(DOCTOR.bigClientBuf);
  if (cachedScripts > 1000) issues.push(DOCTOR.manyScripts);
  if (issues.length === 0) return DOCTOR.noIssue;
  return DOCTOR.header + issues.join('') + DOCTOR.footer;
}

export const DOCTOR = {
  noIssue: "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n",
  empty:
    "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n",
  header: 'Sam, I detected a few issues in this Redis instance memory implants:\n\n',
  bigPeak:
    ' * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n',
  // ZMALLOC_LIB: raftis's allocator, as INFO mem_allocator names it.
  highFrag:
    ' * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is "v8".\n\n',
  highAllocFrag:
    " * High allocator fragmentation: This instance has an allocator external fragmentation greater than 1.1. This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. You can try enabling 'activedefrag' config option.\n\n",
  highAllocRss:
    ' * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the allocator is much larger than the sum what the allocator actually holds). This problem is usually due to a large peak memory (check if there is a peak memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n',
  highProcRss:
    ' * High process RSS overhead: This instance has non-allocator RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the Redis process is much larger than the RSS the allocator holds). This problem may be due to Lua scripts or Modules.\n\n',
  bigClientBuf:
    ' * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n',
  manyScripts:
    " * Many scripts: There seem to be many cached scripts in this instance (more than 1000). This may be because scripts are generated and `EVAL`ed, instead of being parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT FLUSH` is called periodically, the scripts' caches may end up consuming most of your memory.\n\n",
  footer: "I'm here to keep you safe, Sam. I want to help you.\n",
} as const;

/** addReplyDouble of a C float (RESP3 double, RESP2 bulk). */
function float(x: number): string {
  return formatG17(Math.fround(x));
}

export const memoryCommands: Record<string, ConnHandler> = {
  'memory|stats'({ c, w }) {
    const mh = memoryOverhead(c.server);
    const f = fragmentation(mh);
    w.mapHeader(27 + mh.dbs.length);
    const int = (k: string, v: number): void => {
      w.bulk(k);
      w.int(v);
    };
    const dbl = (k: string, v: number): void => {
      w.bulk(k);
      w.double(float(v));
    };
    int('peak.allocated', mh.peakAllocated);
    int('total.allocated', mh.totalAllocated);
    int('startup.allocated', mh.startupAllocated);
    int('replication.backlog', 0);
    int('clients.slaves', 0);
    int('clients.normal', mh.clientsNormal);
    int('cluster.links', 0);
    int('aof.buffer', 0);
    int('lua.caches', mh.luaCaches);
    int('functions.caches', mh.functionsCaches);
    for (const db of mh.dbs) {
      w.bulk(`db.${db.id}`);
      w.mapHeader(3);
      int('overhead.hashtable.main', db.main);
      int('overhead.hashtable.expires', db.expires);
      int('overhead.hashtable.slot-to-keys', db.slotToKeys);
    }
    int('overhead.total', mh.overheadTotal);
    int('keys.count', mh.totalKeys);
    int('keys.bytes-per-key', mh.bytesPerKey);
    int('dataset.bytes', mh.dataset);
    dbl('dataset.percentage', mh.datasetPerc);
    dbl('peak.percentage', mh.peakPerc);
    int('allocator.allocated', mh.allocatorAllocated);
    int('allocator.active', mh.allocatorActive);
    int('allocator.resident', mh.allocatorResident);
    dbl('allocator-fragmentation.ratio', f.allocatorFrag);
    int('allocator-fragmentation.bytes', f.allocatorFragBytes);
    dbl('allocator-rss.ratio', f.allocatorRss);
    int('allocator-rss.bytes', f.allocatorRssBytes);
    dbl('rss-overhead.ratio', f.rssExtra);
    int('rss-overhead.bytes', f.rssExtraBytes);
    dbl('fragmentation', f.totalFrag);
    int('fragmentation.bytes', f.totalFragBytes);
  },

  'memory|doctor'({ c, w }) {
    const s = c.server;
    w.verbatim(memoryDoctorReport(memoryOverhead(s), s.startupMemory, s.clients.size, s.scripts.size));
  },

  // redis-server built without jemalloc answers this; V8 has no allocator report of that kind.
  'memory|malloc-stats'({ w }) {
    w.bulk('Stats not supported for the current allocator');
  },

  // Nothing to purge by hand: V8 returns free pages to the system itself.
  'memory|purge'({ w }) {
    w.simple('OK');
  },
};
