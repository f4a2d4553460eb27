#!/usr/bin/env node
// The least a durable SET server on Node.js and classic-level must do, and
// nothing more: the ceiling any raftis design could reach on this machine.
// It answers every request with +OK once the request's bytes are on disk (a
// majority's disks for the 3-node form) and does not parse, keep a keyspace,
// run Raft or frame entries. bench/node-ceiling.mjs runs it beside
// redis-server and raftis.
//
//   node bench/ceiling-server.mjs single   PORT DIR
//   node bench/ceiling-server.mjs follower PORT DIR
//   node bench/ceiling-server.mjs leader   PORT DIR FOLLOWER_PORT FOLLOWER_PORT
//
// single: everything one event-loop turn read is one classic-level batch
// (sync: true), one batch in flight, the next one started as soon as it
// completes (raftis's own group commit). Other ways to commit, for the single
// form, with CEILING_MODE (bench/node-ceiling.mjs --variants runs them all):
//   reply-first  after a batch completes, answer it and start the next batch
//                only in the next turn (the requests those answers bring back
//                join it);
//   many         a batch per turn without waiting for the last (LevelDB
//                queues concurrent writers and syncs each queue as a group;
//                the thread pool runs 4 at a time), answered in order;
//   worker       classic-level in a worker thread; the main thread blocks
//                (Atomics.wait) until the worker's batch is synced, as
//                redis-server blocks in fdatasync;
//   fs-sync      not classic-level: the turn's bytes appended to a plain file
//                with writeSync + fdatasyncSync on the main thread, then
//                answered (redis-server's appendfsync always);
//   fs-pool      a plain file written and fdatasynced on libuv's thread pool
//                (fs.write + fs.fdatasync), one write in flight, the turns
//                that arrive meanwhile written together next (raftis's
//                `io: 'pool'` WAL): the event loop reads and counts the next
//                requests while the disk syncs.
// CEILING_MODE=read is the 3-process form of a linearizable read by ReadIndex
// (issue 19's 3-node GET): no disk; at the end of each turn the leader sends
// one empty frame to one follower, which answers it at once, and answers the
// turn's requests (each a 16-byte bulk string, as GET -d 16 of a present key)
// when that answer arrives — one round trip per turn, rounds overlapping, as
// raftis's read rounds go to one follower (its leader has to hear from a
// quorum, itself and one follower, after a read arrived before serving it).
// CEILING_MODE=fs-sync also applies to the 3-process form (leader and
// followers): each process appends to its own plain file and fdatasyncs it
// on the main thread, as raftis's own log does. The leader sends a turn's
// bytes to both followers first, then writes and syncs them itself; a
// follower writes every frame one read brought, syncs once and acks the
// last. A request is answered once the leader and one follower synced it.
// leader: the same as single, and each turn's
// bytes also go to both followers over TCP ([u32 length][u32 seq][bytes]) at
// once; a follower group-commits them the same way and answers [u32 seq];
// a request is answered once two of the three (any two) have its batch on
// disk. Requests are counted, not parsed: a '*' at the start of a read or
// after '\n' starts one (redis-benchmark's SET keys and values hold no '*').
// Sockets (CEILING_IO): 'direct' (the default) reads every connection with
// net.Socket's `onread` into one reused buffer and writes replies, frames and
// acks straight to the socket's handle when nothing is pending
// (dist/util/socket-write.js: build first), as raftis does since session 11;
// 'stream' reads and writes through Node's Readable/Writable streams (the
// ceilings measured before session 11).
// Loopback only. Stops on SIGTERM/SIGINT or when its parent bench dies
// (killed with SIGKILL by bench/lib.mjs).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { ClassicLevel } from 'classic-level';

const [role, portArg, dir, ...followerPorts] = process.argv.slice(2);
const port = Number(portArg);
if (!['single', 'follower', 'leader'].includes(role) || !port || !dir || (role === 'leader' && followerPorts.length !== 2)) {
  console.error('usage: ceiling-server.mjs single|follower|leader PORT DIR [FOLLOWER_PORT FOLLOWER_PORT]');
  process.exit(1);
}
const mode = process.env.CEILING_MODE ?? 'level';
if (!['level', 'reply-first', 'many', 'worker', 'fs-sync', 'fs-pool', 'read'].includes(mode)) {
  console.error(`unknown CEILING_MODE ${mode}: level, reply-first, many, worker, fs-sync, fs-pool or read`);
  process.exit(1);
}
if (role !== 'single' && mode !== 'level' && mode !== 'fs-sync' && mode !== 'read') {
  console.error(`CEILING_MODE ${mode} is for the single form only; the 3-process form knows level, fs-sync and read`);
  process.exit(1);
}
if (role === 'single' && mode === 'read') {
  console.error('CEILING_MODE read is for the 3-process form (leader and followers)');
  process.exit(1);
}
const IO = process.env.CEILING_IO ?? 'direct';
if (IO !== 'direct' && IO !== 'stream') {
  console.error(`unknown CEILING_IO ${IO}: direct or stream`);
  process.exit(1);
}
let writeDirect;
if (IO === 'direct') {
  try {
    ({ writeDirect } = await import(new URL('../dist/util/socket-write.js', import.meta.url).href));
  } catch {
    console.error('CEILING_IO=direct needs a build (npm run build): dist/util/socket-write.js is missing');
    process.exit(1);
  }
}
const noop = () => {};
/** A write straight to the handle when nothing is pending (CEILING_IO=direct), else socket.write. */
function send(sock, data) {
  if (writeDirect === undefined || writeDirect(sock, data, noop) === undefined) sock.write(data, typeof data === 'string' ? 'latin1' : undefined);
}
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
const onChunk = Symbol('onChunk');
/** Options for a socket that reads into READ_BUFFER and hands each read on as a copy it may keep. */
function onreadOptions(getSock) {
  return { buffer: READ_BUFFER, callback: (n, buf) => void getSock()[onChunk]?.(Buffer.from(buf.subarray(0, n))) };
}
/** Calls fn with each read's bytes: the 'data' event (stream) or the onread callback (direct). */
function onData(sock, fn) {
  if (IO === 'direct' && sock[onChunk] !== undefined) sock[onChunk] = fn;
  else sock.on('data', fn);
}
let db;
let fd = -1;
let worker;
/** worker mode: [0] set to 1 by the worker when a batch is synced, [1] once its database is open. */
const flags = new Int32Array(new SharedArrayBuffer(8));
if (mode === 'worker') {
  worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const { ClassicLevel } = require(workerData.classicLevel);
     const flags = new Int32Array(workerData.flags);
     const db = new ClassicLevel(workerData.dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
     db.open().then(() => { Atomics.store(flags, 1, 1); Atomics.notify(flags, 1); });
     parentPort.on('message', ({ seq, bytes }) => {
       const key = Buffer.alloc(8);
       key.writeUInt32BE(seq, 4);
       db.batch([{ type: 'put', key, value: Buffer.from(bytes) }], { sync: true }).then(() => {
         Atomics.store(flags, 0, 1);
         Atomics.notify(flags, 0);
       });
     });`,
    { eval: true, workerData: { dir, flags: flags.buffer, classicLevel: createRequire(import.meta.url).resolve('classic-level') } },
  );
  Atomics.wait(flags, 1, 0);
} else if (mode === 'read') {
  // No disk.
} else if (mode === 'fs-sync' || mode === 'fs-pool') {
  fs.mkdirSync(dir, { recursive: true });
  fd = fs.openSync(path.join(dir, 'log'), 'a');
} else {
  db = new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
}

function syncedBatch(seq, value) {
  if (mode === 'fs-pool') {
    return new Promise((resolve, reject) => {
      fs.write(fd, value, 0, value.length, null, (e) => {
        if (e) return reject(e);
        fs.fdatasync(fd, (e2) => (e2 ? reject(e2) : resolve()));
      });
    });
  }
  const key = Buffer.alloc(8);
  key.writeUInt32BE(seq, 4);
  return db.batch([{ type: 'put', key, value }], { sync: true });
}

/** Group commit: append(bytes, seq) queues; onDurable(seq) once everything up to seq is on disk. */
function groupCommit(onDurable) {
  let pending = [];
  let pendingSeq = 0;
  let inFlight = 0;
  const take = () => {
    const value = pending.length === 1 ? pending[0] : Buffer.concat(pending);
    pending = [];
    return value;
  };
  const start = () => {
    inFlight++;
    const upTo = pendingSeq;
    syncedBatch(upTo, take()).then(() => {
      inFlight--;
      if (mode === 'reply-first') {
        onDurable(upTo);
        setImmediate(() => {
          if (pending.length > 0 && inFlight === 0) start();
        });
        return;
      }
      if (pending.length > 0) start();
      onDurable(upTo);
    });
  };
  // single and leader append once per event-loop turn, at its end.
  if (mode === 'worker') {
    return (bytes, seq) => {
      Atomics.store(flags, 0, 0);
      worker.postMessage({ seq, bytes });
      Atomics.wait(flags, 0, 0);
      onDurable(seq);
    };
  }
  if (mode === 'fs-sync') {
    return (bytes, seq) => {
      fs.writeSync(fd, bytes);
      fs.fdatasyncSync(fd);
      onDurable(seq);
    };
  }
  if (mode === 'many') {
    // Batches complete in any order across thread-pool threads: report in order.
    const done = new Set();
    let reported = 0;
    const order = [];
    return (bytes, seq) => {
      order.push(seq);
      void syncedBatch(seq, bytes).then(() => {
        done.add(seq);
        while (order.length > 0 && done.has(order[0])) {
          reported = order.shift();
          done.delete(reported);
        }
        onDurable(reported);
      });
    };
  }
  return (bytes, seq) => {
    pending.push(bytes);
    pendingSeq = seq;
    if (inFlight === 0) start();
  };
}

/**
 * RESP arrays in a read (redis-benchmark writes whole requests), walked by
 * their headers: an argument may itself be "*" (XADD's ID).
 */
function countRequests(b) {
  let n = 0;
  let i = 0;
  while (i < b.length && b[i] === 42) {
    let j = b.indexOf(13, i);
    const argc = Number(b.latin1Slice(i + 1, j));
    i = j + 2;
    for (let a = 0; a < argc; a++) {
      j = b.indexOf(13, i);
      i = j + 2 + Number(b.latin1Slice(i + 1, j)) + 2;
    }
    n++;
  }
  return n;
}

const OK = mode === 'read' ? `$16\r\n${'x'.repeat(16)}\r\n` : '+OK\r\n';
function answer(waiters) {
  for (let i = 0; i < waiters.length; i += 2) {
    const n = waiters[i + 1];
    send(waiters[i], n === 1 ? OK : OK.repeat(n));
  }
}

/** Frames [u32 length][u32 seq][bytes] (or [u32 seq] acks when `ackOnly`) out of a byte stream. */
function frames(onFrame, ackOnly = false) {
  let acc = Buffer.alloc(0);
  return (chunk) => {
    acc = acc.length > 0 ? Buffer.concat([acc, chunk]) : chunk;
    let off = 0;
    for (;;) {
      if (ackOnly) {
        if (acc.length - off < 4) break;
        onFrame(acc.readUInt32BE(off));
        off += 4;
        continue;
      }
      if (acc.length - off < 8) break;
      const len = acc.readUInt32BE(off);
      if (acc.length - off < 8 + len) break;
      onFrame(acc.readUInt32BE(off + 4), acc.subarray(off + 8, off + 8 + len));
      off += 8 + len;
    }
    acc = off === acc.length ? Buffer.alloc(0) : Buffer.from(acc.subarray(off));
  };
}

function listen(onSocket) {
  net
    .createServer({ pauseOnConnect: true }, (accepted) => {
      let s = accepted;
      const handle = accepted._handle;
      if (IO === 'direct' && handle != null && typeof handle.useUserBuffer === 'function') {
        // net.Server has no onread option: the accepted handle moves to a socket made with one (src/server/server.ts).
        accepted._handle = null;
        let made;
        made = new net.Socket({ handle, onread: onreadOptions(() => made), readable: true, writable: true });
        made[onChunk] = null;
        s = made;
      } else {
        accepted.resume();
      }
      s.setNoDelay(true);
      s.on('error', () => {});
      onSocket(s);
    })
    .listen(port, '127.0.0.1');
}

if (role === 'follower' && mode === 'read') {
  // A read round's frame is answered at once (the last of one read's frames).
  listen((s) => {
    let last = 0;
    const parse = frames((seq) => {
      last = seq;
    });
    onData(s, (chunk) => {
      parse(chunk);
      const ack = Buffer.alloc(4);
      ack.writeUInt32BE(last);
      send(s, ack);
    });
  });
} else if (role === 'follower' && mode === 'fs-sync') {
  // Every frame of one read appended, one fdatasync, one ack of the last.
  listen((s) => {
    let bufs = [];
    let last = 0;
    const parse = frames((seq, bytes) => {
      bufs.push(bytes);
      last = seq;
    });
    onData(s, (chunk) => {
      parse(chunk);
      if (bufs.length === 0) return;
      fs.writeSync(fd, bufs.length === 1 ? bufs[0] : Buffer.concat(bufs));
      fs.fdatasyncSync(fd);
      bufs = [];
      const ack = Buffer.alloc(4);
      ack.writeUInt32BE(last);
      send(s, ack);
    });
  });
} else if (role === 'follower') {
  listen((s) => {
    const append = groupCommit((upTo) => {
      const ack = Buffer.alloc(4);
      ack.writeUInt32BE(upTo);
      send(s, ack);
    });
    onData(s, frames((seq, bytes) => append(bytes, seq)));
  });
} else {
  // Batches wait in `waiting` ([seq, waiters]) until a majority has them.
  const waiting = [];
  const durable = [0, 0, 0]; // this node, follower 1, follower 2
  const release = () => {
    const sorted = [...durable].sort((a, b) => a - b);
    // read: the leader and the one follower asked make the quorum.
    const commit = role === 'single' ? durable[0] : mode === 'read' ? durable[1] : sorted[1];
    while (waiting.length > 0 && waiting[0][0] <= commit) answer(waiting.shift()[1]);
  };
  const append = groupCommit((upTo) => {
    durable[0] = upTo;
    release();
  });
  const followers = [];
  if (role === 'leader') {
    for (const [i, p] of followerPorts.entries()) {
      let c;
      c = net.connect({ port: Number(p), host: '127.0.0.1', ...(IO === 'direct' ? { onread: onreadOptions(() => c) } : {}) });
      if (IO === 'direct') c[onChunk] = null;
      c.setNoDelay(true);
      await new Promise((resolve, reject) => {
        c.once('connect', resolve);
        c.once('error', reject);
      });
      onData(
        c,
        frames((seq) => {
          durable[i + 1] = Math.max(durable[i + 1], seq);
          release();
        }, true),
      );
      followers.push(c);
    }
  }
  let seq = 0;
  let turn = [];
  let waiters = [];
  let scheduled = false;
  const endOfTurn = () => {
    scheduled = false;
    if (mode === 'read') {
      waiting.push([++seq, waiters]);
      turn = [];
      waiters = [];
      const header = Buffer.alloc(8);
      header.writeUInt32BE(seq, 4);
      send(followers[0], header);
      return;
    }
    const bytes = turn.length === 1 ? turn[0] : Buffer.concat(turn);
    waiting.push([++seq, waiters]);
    turn = [];
    waiters = [];
    // One frame, one write per follower (as raftis's peer links write a frame).
    const frame = Buffer.allocUnsafe(8 + bytes.length);
    frame.writeUInt32BE(bytes.length);
    frame.writeUInt32BE(seq, 4);
    bytes.copy(frame, 8);
    for (const f of followers) send(f, frame);
    append(bytes, seq);
  };
  listen((s) => {
    onData(s, (b) => {
      if (mode !== 'read') turn.push(b);
      waiters.push(s, countRequests(b));
      if (!scheduled) {
        scheduled = true;
        setImmediate(endOfTurn);
      }
    });
  });
}
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
