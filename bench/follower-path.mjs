#!/usr/bin/env node
// Instructions per entry of replication's own path, in isolation and load-independent:
// the leader's encoding of an append (one RaftBatch frame of E entries of 65 bytes,
// a SET -d 16 entry's size), the follower's decoding of its body (copied into its own
// memory, as FrameDecoder.take does) and the write of the decoded entries to a
// SegmentLog (no fdatasync: a syscall's kernel time is not counted anyway).
// Under valgrind --tool=callgrind for two round counts; the difference divided by the
// entries between them removes start-up and the compilers' one-off work.
//
// Usage: node bench/follower-path.mjs [--a DIST_A] [--b DIST_B] [--entries 50] [--rounds 2000,10000]
//   DIST_* is a build's dist directory (B defaults to this checkout's dist).
// Inner mode (what valgrind runs): node bench/follower-path.mjs --run DIST ROUNDS ENTRIES
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const self = fileURLToPath(import.meta.url);

if (argv[0] === '--run') {
  const [dist, rounds, E] = [path.resolve(argv[1]), Number(argv[2]), Number(argv[3])];
  const { encodeRaftBatch, FRAME_HEADER_BYTES } = await import(`${dist}/transport/frame.js`);
  const { decodeBatch } = await import(`${dist}/transport/codec.js`);
  const { SegmentLog } = await import(`${dist}/storage/wal/segment-log.js`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-follower-path-'));
  try {
    const wal = SegmentLog.open(path.join(dir, 'wal'), dir, { segmentSize: 1 << 30 });
    const data = Buffer.alloc(65 * E);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    let next = 1;
    for (let r = 0; r < rounds; r++) {
      const entries = [];
      for (let i = 0; i < E; i++) entries.push({ index: next + i, term: 2, type: 0, data: data.subarray(i * 65, i * 65 + 65) });
      const msg = { type: 3, from: 1, to: 2, term: 2, logTerm: 2, index: next - 1, entries, commit: next - 1, reject: false, rejectHint: 0, context: Buffer.alloc(0) };
      const frame = encodeRaftBatch([msg]);
      const body = Buffer.allocUnsafeSlow(frame.length - FRAME_HEADER_BYTES);
      frame.copy(body, 0, FRAME_HEADER_BYTES);
      const [m] = decodeBatch(body);
      wal.write(m.entries, { term: 2, vote: 1, commit: next - 1 }, undefined, false);
      next += E;
    }
    await wal.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

const { perEntryAB } = await import('./lib.mjs');
perEntryAB(self, argv, '2000,10000', 'append');
