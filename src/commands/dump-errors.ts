/** DUMP / RESTORE error texts, byte for byte as Redis 7.0 (cluster.c restoreCommand, server.c shared.busykeyerr). */
export const DUMP_ERR = {
  busykey: 'BUSYKEY Target key name already exists.',
  badTtl: 'ERR Invalid TTL value, must be >= 0',
  badIdletime: 'ERR Invalid IDLETIME value, must be >= 0',
  badFreq: 'ERR Invalid FREQ value, must be >= 0 and <= 255',
  payloadChecksum: 'ERR DUMP payload version or checksum are wrong',
  badFormat: 'ERR Bad data format',
} as const;
