/**
 * Every command handler, by kind: keyspace commands (replicated writes and
 * reads, DataHandler) and connection/server commands (ConnHandler). The
 * command table joins these with Redis's metadata; the test engine runs the
 * keyspace ones in-process.
 */
import { aclApplied, aclCommands } from './acl.js';
import { bitCommands } from './bits.js';
import { clusterCommands } from './cluster.js';
import { commandCommands } from './command.js';
import { configApplied, configCommands } from './config.js';
import { dumpCommands } from './dump.js';
import { connectionCommands } from './connection.js';
import { databaseCommands } from './databases.js';
import { trackingCommands } from './tracking.js';
import { geoCommands } from './geo.js';
import { hashCommands } from './hash.js';
import { hyperloglogCommands } from './hyperloglog.js';
import { infoCommands } from './info.js';
import { introspectionCommands } from './introspection.js';
import { keyspaceCommands } from './keyspace.js';
import { listCommands } from './list.js';
import { shardsApplied, shardsCommands } from './shards.js';
import { membershipCommands } from './membership.js';
import { memoryCommands } from './memory.js';
import { persistenceCommands } from './persistence.js';
import { shutdown } from './shutdown.js';
import { latencyCommands } from './latency.js';
import { pubsubCommands } from './pubsub.js';
import { replicationCommands } from './replication.js';
import { serverCommands } from './server.js';
import { functionConnCommands, functionDataCommands } from './functions.js';
import { scriptingConnCommands, scriptingDataCommands } from './scripting.js';
import { setCommands } from './set.js';
import { slowlogCommands } from './slowlog.js';
import { sortCommands } from './sort.js';
import { lcsCommands } from './lcs.js';
import { streamCommands } from './stream.js';
import { streamGroupCommands } from './stream-group.js';
import { streamInfoCommands } from './stream-info.js';
import { streamReadCommands } from './stream-read.js';
import { stringCommands } from './string.js';
import type { ConnHandler, HandlerSet } from './table.js';
import { transactionCommands } from './transaction.js';
import { unchangedChecks } from './unchanged.js';
import type { DataHandler } from './types.js';
import { zsetCommands } from './zset.js';
import { zsetOpCommands } from './zset-ops.js';

export const dataCommands: Record<string, DataHandler> = {
  ...stringCommands,
  ...keyspaceCommands,
  ...databaseCommands,
  ...hashCommands,
  ...setCommands,
  ...bitCommands,
  ...introspectionCommands,
  ...listCommands,
  ...zsetCommands,
  ...zsetOpCommands,
  ...sortCommands,
  ...lcsCommands,
  ...hyperloglogCommands,
  ...geoCommands,
  ...streamCommands,
  ...streamReadCommands,
  ...streamGroupCommands,
  ...streamInfoCommands,
  ...scriptingDataCommands,
  ...functionDataCommands,
  ...dumpCommands,
};

export const connCommands: Record<string, ConnHandler> = {
  ...connectionCommands,
  ...trackingCommands,
  ...serverCommands,
  ...commandCommands,
  ...configCommands,
  ...infoCommands,
  ...transactionCommands,
  ...clusterCommands,
  ...persistenceCommands,
  ...memoryCommands,
  shutdown,
  ...latencyCommands,
  ...pubsubCommands,
  ...membershipCommands,
  ...shardsCommands,
  ...replicationCommands,
  ...slowlogCommands,
  ...scriptingConnCommands,
  ...functionConnCommands,
  ...aclCommands,
};

/** Server commands whose effect is replicated when they name cluster-wide state (CONFIG SET). */
export const appliedCommands: NonNullable<HandlerSet['applied']> = {
  ...configApplied,
  ...aclApplied,
  ...shardsApplied,
};

/** Writes that may change nothing, and the checks that tell (unchanged.ts). */
export const unchangedCommands: NonNullable<HandlerSet['unchanged']> = unchangedChecks;
