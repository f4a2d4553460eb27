/**
 * The encoding thresholds Redis reads from its configuration
 * (hash-max-listpack-entries/-value, zset-max-listpack-entries/-value,
 * set-max-intset-entries, stream-node-max-bytes/-entries): when a small value converts to its big encoding,
 * which OBJECT ENCODING, MEMORY USAGE, DUMP and the order small values are
 * listed in show. They are cluster-wide parameters (a CONFIG SET of them is
 * a log entry applied on every node), so every replica converts at the same
 * write. The engine sets them from its Config; one raftis process runs one
 * node, so they are the process's. Starting values: redis-server 7.0.15's
 * defaults.
 */
export const encodingLimits = {
  hashEntries: 512,
  hashValue: 64,
  zsetEntries: 128,
  zsetValue: 64,
  intsetEntries: 512,
  /** stream-node-max-bytes / -entries: where XADD starts a new node (XINFO's radix-tree-keys, MEMORY USAGE, what XTRIM ~ removes). */
  streamNodeBytes: 4096,
  streamNodeEntries: 100,
  /** list-max-listpack-size / list-compress-depth: how a list created now is split into quicklist nodes and which are LZF-compressed (DUMP, MEMORY USAGE). */
  listFill: -2,
  listCompress: 0,
};
