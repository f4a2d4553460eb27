#!/usr/bin/env node
// Instructions per entry of a 3-node leader's own replication work, in isolation and
// load-independent: the Raft core of a leader with two followers (RawNode over
// MemoryStorage) takes a batch of E proposals of 65 bytes (a SET -d 16 entry's size)
// with proposeBatch, its Ready's appends to follower 2 are encoded (encodeRaftBatch:
// the transport encodes an append's entries once and copies that section into the
// other follower's frame, in both builds), the entries are "written" (MemoryStorage.append),
// both followers' acknowledgements are stepped, the commit's Ready handed out and
// advanced. Under valgrind --tool=callgrind for two round counts; the difference
// divided by the entries between them removes start-up and the compilers' one-off work.
// No sockets, no disk, no state machine: what a leader does that one node does not,
// plus the append and commit both do.
//
// Usage: node bench/leader-path.mjs [--a DIST_A] [--b DIST_B] [--entries 50] [--rounds 1000,4000]
//   DIST_* is a build's dist directory (B defaults to this checkout's dist).
// Inner mode (what valgrind runs): node bench/leader-path.mjs --run DIST ROUNDS ENTRIES
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const self = fileURLToPath(import.meta.url);

if (argv[0] === '--run') {
  const [dist, rounds, E] = [path.resolve(argv[1]), Number(argv[2]), Number(argv[3])];
  const { RawNode } = await import(`${dist}/raft/rawnode.js`);
  const { MemoryStorage } = await import(`${dist}/raft/storage.js`);
  const { MessageType, newMessage } = await import(`${dist}/raft/messages.js`);
  const { encodeRaftBatch } = await import(`${dist}/transport/frame.js`);
  const silent = { debugEnabled: false, debug() {}, info() {}, warn() {}, error() {} };
  const storage = new MemoryStorage();
  const raw = new RawNode({ id: 1, storage, voters: [1, 2, 3], logger: silent });
  let frames = 0;
  const handle = () => {
    const rd = raw.ready();
    for (const m of rd.messages) {
      if (m.to === 2 && m.type === MessageType.App) frames += encodeRaftBatch([m]).length;
    }
    storage.append(rd.entries);
    if (rd.hardState !== undefined) storage.setHardState(rd.hardState);
    raw.advance(rd);
    return rd;
  };
  // Elect node 1: answer its (pre-)votes from 2 and 3.
  raw.campaign();
  for (let i = 0; i < 10 && !raw.isLeader(); i++) {
    const rd = handle();
    for (const m of [...rd.messages, ...rd.persistedMessages]) {
      if (m.to === 1 || (m.type !== MessageType.PreVote && m.type !== MessageType.Vote)) continue;
      const resp = m.type === MessageType.PreVote ? MessageType.PreVoteResp : MessageType.VoteResp;
      raw.step(newMessage({ type: resp, from: m.to, to: 1, term: m.term }));
    }
  }
  if (!raw.isLeader()) throw new Error('node 1 did not become the leader');
  const ack = (from) => raw.step(newMessage({ type: MessageType.AppResp, from, to: 1, term: raw.raft.term, index: raw.raft.raftLog.lastIndex() }));
  while (raw.hasReady()) handle();
  ack(2);
  ack(3);
  while (raw.hasReady()) handle();
  const data = Buffer.alloc(65 * E);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
  const datas = [];
  for (let i = 0; i < E; i++) datas.push(data.subarray(i * 65, i * 65 + 65));
  for (let r = 0; r < rounds; r++) {
    raw.proposeBatch(datas);
    handle();
    ack(2);
    ack(3);
    while (raw.hasReady()) handle();
    if (r % 64 === 63) storage.compact(raw.raft.raftLog.applied);
  }
  if (frames === 0) throw new Error('no appends were encoded');
  process.exit(0);
}

const { perEntryAB } = await import('./lib.mjs');
perEntryAB(self, argv, '1000,4000', 'batch');
