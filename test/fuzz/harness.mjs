/**
 * The checks and drivers of the fuzzers (test/fuzz/*.test.ts for CI's short
 * slice, bench/fuzz.mjs for the long run). Plain JavaScript for the same
 * reason as resp-gen.mjs; types in harness.d.mts.
 *
 * A target is a running raftis node { id, host, port, clusterPort, pid }.
 * After every batch the harness asks: is every process still alive, and
 * does a PING on a fresh connection answer within `pingBoundMs` (a node
 * that stopped serving counts as a hang). Replies received on the fuzzing
 * connections must be well-formed RESP2/RESP3, whatever was sent.
 */
import fs from 'node:fs';
import net from 'node:net';
import { RESERVED_PREFIX, RespGenerator, encodeArgv } from './resp-gen.mjs';
import { PeerFrameGenerator, peerHandshake } from './peer-gen.mjs';

export class MalformedReply extends Error {}

const CRLF = 0x0a0d; // "\r\n" read as a little-endian u16

function lineEnd(buf, pos) {
  const nl = buf.indexOf('\r\n', pos, 'latin1');
  if (nl < 0) return -1;
  // A bare \n or \r before the CRLF means the server wrote a line it should not have.
  const cr = buf.indexOf(0x0d, pos);
  const lf = buf.indexOf(0x0a, pos);
  if ((cr >= 0 && cr < nl) || (lf >= 0 && lf < nl)) throw new MalformedReply(`bare CR/LF in a line at ${pos}`);
  return nl;
}

const INT_RE = /^-?(0|[1-9]\d*)$/;
const LEN_RE = /^(0|[1-9]\d*)$/;
const DOUBLE_RE = /^(-?(\d+)(\.\d+)?([eE][+-]?\d+)?|-?inf|nan)$/;

/**
 * End offset of the well-formed RESP2/RESP3 reply at `pos`, -1 if more bytes
 * are needed; throws MalformedReply for anything a Redis client could not parse.
 */
export function replyEnd(buf, pos, depth = 0) {
  if (depth > 64) throw new MalformedReply('nesting deeper than 64');
  if (pos >= buf.length) return -1;
  const t = String.fromCharCode(buf[pos]);
  const nl = lineEnd(buf, pos + 1);
  if (nl < 0) return -1;
  const line = buf.toString('latin1', pos + 1, nl);
  let p = nl + 2;
  switch (t) {
    case '+':
    case '-':
      return p;
    case ':':
    case '(':
      if (!INT_RE.test(line)) throw new MalformedReply(`bad integer ${JSON.stringify(line)}`);
      return p;
    case '_':
      if (line !== '') throw new MalformedReply('null with a payload');
      return p;
    case '#':
      if (line !== 't' && line !== 'f') throw new MalformedReply(`bad boolean ${JSON.stringify(line)}`);
      return p;
    case ',':
      if (!DOUBLE_RE.test(line)) throw new MalformedReply(`bad double ${JSON.stringify(line)}`);
      return p;
    case '$':
    case '!':
    case '=': {
      if (t === '$' && line === '-1') return p;
      if (!LEN_RE.test(line)) throw new MalformedReply(`bad bulk length ${JSON.stringify(line)}`);
      const n = Number(line);
      if (buf.length < p + n + 2) return -1;
      if (buf.readUInt16LE(p + n) !== CRLF) throw new MalformedReply(`bulk of ${n} bytes not followed by CRLF`);
      return p + n + 2;
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      if (t === '*' && line === '-1') return p;
      if (!LEN_RE.test(line)) throw new MalformedReply(`bad aggregate length ${JSON.stringify(line)}`);
      let items = Number(line) * (t === '%' || t === '|' ? 2 : 1);
      if (t === '|') items++; // an attribute precedes the reply it describes
      for (let i = 0; i < items; i++) {
        p = replyEnd(buf, p, depth + 1);
        if (p < 0) return -1;
      }
      return p;
    }
    default:
      throw new MalformedReply(`unknown reply type byte 0x${buf[pos].toString(16)} at ${pos}`);
  }
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

export function rssBytes(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) * 1024;
}

export function fdCount(pid) {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

export function alive(pid) {
  try {
    process.kill(pid, 0);
    // A zombie (exited, not yet reaped) still answers signal 0.
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** A minimal request/reply client over raw bytes, for the harness's own commands. */
export class Conn {
  static open(host, port, timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host);
      const t = setTimeout(() => {
        s.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(t);
        s.setNoDelay(true);
        resolve(new Conn(s));
      });
      s.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.waiters = [];
    this.closed = false;
    sock.on('data', (d) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.drain();
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w.reject(new Error('connection closed'));
    });
  }

  drain() {
    while (this.waiters.length > 0) {
      let end;
      try {
        end = replyEnd(this.buf, 0);
      } catch (e) {
        for (const w of this.waiters.splice(0)) w.reject(e);
        return;
      }
      if (end < 0) return;
      const reply = this.buf.subarray(0, end);
      this.buf = this.buf.subarray(end);
      this.waiters.shift().resolve(reply);
    }
  }

  /** Sends argv and resolves with the raw reply (a Buffer); rejects after timeoutMs. */
  call(argv, timeoutMs = 10_000) {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('connection closed'));
      const t = setTimeout(() => reject(new Error(`no reply to ${argv[0]} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        resolve: (r) => {
          clearTimeout(t);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
      this.sock.write(encodeArgv(argv));
    });
  }

  async str(argv, timeoutMs) {
    return (await this.call(argv, timeoutMs)).toString('latin1');
  }

  close() {
    this.sock.destroy();
  }
}

/** PING on a fresh connection: true if +PONG arrives within boundMs. */
export async function pingWithin(host, port, boundMs) {
  const deadline = Date.now() + boundMs;
  let c;
  try {
    c = await Conn.open(host, port, boundMs);
    const r = await c.str(['PING'], Math.max(1, deadline - Date.now()));
    return r === '+PONG\r\n';
  } catch {
    return false;
  } finally {
    c?.close();
  }
}

/** RAFT.INFO as a field map. */
export async function raftInfo(host, port, timeoutMs = 2000) {
  const c = await Conn.open(host, port, timeoutMs);
  try {
    const r = await c.str(['RAFT.INFO'], timeoutMs);
    const out = {};
    for (const line of r.split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0 && !line.startsWith('$') && !line.startsWith('=')) out[line.slice(0, i)] = line.slice(i + 1);
    }
    return out;
  } finally {
    c.close();
  }
}

/** The target every answering node names as leader (undefined if they disagree or none answers). */
export async function findLeader(targets) {
  const ids = new Set();
  for (const t of targets) {
    try {
      const info = await raftInfo(t.host, t.port);
      if (info.role === 'leader') ids.add(Number(info.node_id));
      else if (info.leader !== undefined && info.leader !== '0') ids.add(Number(info.leader));
    } catch {
      /* not answering: judged by the ping check */
    }
  }
  if (ids.size !== 1) return undefined;
  const id = [...ids][0];
  return targets.find((t) => t.id === id);
}

export async function waitLeader(targets, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const l = await findLeader(targets);
    if (l !== undefined) return l;
    if (Date.now() > deadline) throw new Error(`no agreed leader after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Deterministic contents of the reserved keys: strings (some binary), a hash, a list. */
export function reservedData(n) {
  const items = [];
  for (let i = 0; i < n; i++) {
    const key = `${RESERVED_PREFIX}${i}`;
    const kind = i % 3;
    if (kind === 0) items.push({ key, write: ['SET', key, `value-${i}-` + String.fromCharCode(i % 256).repeat(i % 17)], read: ['GET', key] });
    else if (kind === 1) items.push({ key, write: ['HSET', key, 'f1', `a${i}`, 'f2', `b${i}`], read: ['HGETALL', key] });
    else items.push({ key, write: ['RPUSH', key, `x${i}`, '', `z${i}\r\n`], read: ['LRANGE', key, '0', '-1'] });
  }
  return items;
}

/** Writes the reserved keys through `leader` (each acknowledged) and returns the replies their reads give. */
export async function writeReserved(leader, n) {
  const c = await Conn.open(leader.host, leader.port);
  try {
    const expected = new Map();
    for (const it of reservedData(n)) {
      const w = await c.str(it.write);
      if (w.startsWith('-')) throw new Error(`writing ${it.key}: ${w}`);
      expected.set(it.key, (await c.str(it.read)));
    }
    return expected;
  } finally {
    c.close();
  }
}

/** The reserved keys whose read no longer gives the acknowledged value (empty: all intact). */
export async function checkReserved(leader, n, expected) {
  const c = await Conn.open(leader.host, leader.port);
  const bad = [];
  try {
    for (const it of reservedData(n)) {
      const got = await c.str(it.read);
      if (got !== expected.get(it.key)) bad.push(`${it.key}: ${JSON.stringify(got.slice(0, 80))} != ${JSON.stringify(expected.get(it.key).slice(0, 80))}`);
    }
  } finally {
    c.close();
  }
  return bad;
}

/**
 * Removes what the fuzzer created, so that memory measures leaks rather than
 * data: every non-reserved key of every database, functions and scripts.
 * Runs on the leader (writes); returns false if it could not finish.
 */
export async function cleanup(leader, databases = 16) {
  let c;
  try {
    c = await Conn.open(leader.host, leader.port);
    for (let db = 0; db < databases; db++) {
      await c.str(['SELECT', String(db)]);
      let cursor = '0';
      for (let round = 0; round < 10_000; round++) {
        const r = await c.call(['SCAN', cursor, 'COUNT', '1000']);
        const keys = parseScan(r);
        cursor = keys.cursor;
        const victims = keys.keys.filter((k) => !k.startsWith(RESERVED_PREFIX));
        for (let i = 0; i < victims.length; i += 500) await c.str(['DEL', ...victims.slice(i, i + 500)], 30_000);
        if (cursor === '0') break;
      }
    }
    await c.str(['FUNCTION', 'FLUSH']);
    await c.str(['SCRIPT', 'FLUSH']);
    return true;
  } catch {
    return false;
  } finally {
    c?.close();
  }
}

function parseScan(buf) {
  // *2\r\n$<n>\r\n<cursor>\r\n*<k>\r\n($<n>\r\n<key>\r\n)*
  let p = buf.indexOf('\r\n') + 2;
  const readBulk = () => {
    const nl = buf.indexOf('\r\n', p, 'latin1');
    const n = Number(buf.toString('latin1', p + 1, nl));
    const s = buf.toString('latin1', nl + 2, nl + 2 + n);
    p = nl + 2 + n + 2;
    return s;
  };
  const cursor = readBulk();
  const nl = buf.indexOf('\r\n', p, 'latin1');
  const count = Number(buf.toString('latin1', p + 1, nl));
  p = nl + 2;
  const keys = [];
  for (let i = 0; i < count; i++) keys.push(readBulk());
  return { cursor, keys };
}

const SENTINEL = 'fuzz-batch-end-8c1f';
const SENTINEL_REQUEST = Buffer.concat([encodeArgv(['EXEC']), encodeArgv(['ECHO', SENTINEL])]);
const SENTINEL_REPLY = Buffer.from(`$${SENTINEL.length}\r\n${SENTINEL}\r\n`, 'latin1');

/**
 * Sends `payload` on a new connection, then EXEC (runs what a generated
 * MULTI queued; an error otherwise) and ECHO <sentinel>, then `tail` (a
 * broken frame, if any). Reads replies until the sentinel's reply (plus
 * `lingerMs` for the tail's), the server closing, `quietMs` without data,
 * or `maxMs`; then closes. Every complete reply must be well-formed.
 */
export function fuzzConnection(host, port, payload, tail, { quietMs = 1000, maxMs = 5000, lingerMs = 100 } = {}) {
  return new Promise((resolve) => {
    const res = { replies: 0, bytesIn: 0, malformed: undefined, closedByServer: false, sentinel: false, connectFailed: false };
    const sock = net.connect(port, host);
    let buf = Buffer.alloc(0);
    let pos = 0;
    let quiet;
    let finished = false;
    const finish = (why) => {
      if (finished) return;
      finished = true;
      res.why = why;
      clearTimeout(quiet);
      clearTimeout(hard);
      sock.destroy();
      resolve(res);
    };
    const hard = setTimeout(() => finish('max'), maxMs);
    const armQuiet = () => {
      clearTimeout(quiet);
      quiet = setTimeout(() => finish('quiet'), quietMs);
    };
    sock.on('error', (e) => {
      if (e.code === 'ECONNREFUSED') res.connectFailed = true;
    });
    sock.on('close', () => {
      res.closedByServer = !finished;
      finish('closed');
    });
    sock.on('data', (d) => {
      res.bytesIn += d.length;
      // Only the unparsed tail is kept: a burst's replies can be large.
      buf = pos < buf.length ? Buffer.concat([buf.subarray(pos), d]) : d;
      pos = 0;
      try {
        for (;;) {
          const end = replyEnd(buf, pos);
          if (end < 0) break;
          res.replies++;
          if (end - pos === SENTINEL_REPLY.length && buf.subarray(pos, end).equals(SENTINEL_REPLY)) res.sentinel = true;
          pos = end;
        }
      } catch (e) {
        res.malformed = `${e.message}; bytes: ${JSON.stringify(buf.toString('latin1', Math.max(0, pos - 40), pos + 80))}`;
        finish('malformed');
        return;
      }
      if (res.sentinel && tail === undefined) finish('sentinel');
      else if (res.sentinel) {
        clearTimeout(quiet);
        quiet = setTimeout(() => finish('linger'), lingerMs);
      } else armQuiet();
    });
    sock.once('connect', () => {
      sock.setNoDelay(true);
      sock.write(payload);
      sock.write(SENTINEL_REQUEST);
      if (tail !== undefined) sock.write(tail);
      armQuiet();
    });
  });
}

/**
 * What one fuzzing connection sends: well-formed requests, then (half the
 * time) one broken frame as `tail`, which ends the connection (nothing after
 * a broken frame would be read). `limit` caps the requests (a batch's rest).
 * The sequence depends only on the generator's seed, so a batch can be
 * replayed connection by connection (bench/fuzz-replay.mjs).
 */
export function payloadSource(gen, perConn) {
  return (limit) => {
    const parts = [];
    const want = Math.min(limit, 1 + gen.int(perConn));
    let n = 0;
    while (n < want - 1) {
      const r = gen.request(true, false);
      parts.push(r.bytes);
      n += r.commands;
    }
    const last = gen.request(gen.chance(0.5));
    n += last.commands;
    if (last.safe) return { bytes: Buffer.concat([...parts, last.bytes]), tail: undefined, n };
    return { bytes: Buffer.concat(parts), tail: last.bytes, n };
  };
}

/**
 * The RESP fuzzer: `requests` generated requests (a command, or one broken
 * frame; a pipelined burst counts each command) to the targets. A batch is
 * `batchRequests` requests over connections carrying up to `perConn` each,
 * `conns` connections at a time; after each batch every target must be
 * alive and answer PING on a fresh connection within pingBoundMs.
 */
export async function runRespFuzz(opts) {
  const {
    targets,
    seed,
    requests,
    conns = 24,
    perConn = 40,
    batchRequests = 1000,
    pingBoundMs = 10_000,
    cleanupEvery = 10,
    timeLimitMs = Infinity,
    databases = 16,
    log = () => {},
  } = opts;
  const gen = new RespGenerator(seed);
  const stats = { requests: 0, endedBy: {}, batches: 0, connections: 0, replies: 0, closedByServer: 0, malformed: [], hangs: [], crashes: [], cleanupsFailed: 0 };
  const start = Date.now();
  let next = 0;
  let lastLog = start;
  const payload = payloadSource(gen, perConn);
  while (stats.requests < requests && Date.now() - start < timeLimitMs) {
    const batchEnd = Math.min(requests, stats.requests + batchRequests);
    const worker = async () => {
      while (stats.requests < batchEnd) {
        const { bytes, tail, n } = payload(batchEnd - stats.requests);
        stats.requests += n;
        const t = targets[next++ % targets.length];
        const r = await fuzzConnection(t.host, t.port, bytes, tail);
        stats.connections++;
        stats.replies += r.replies;
        if (r.closedByServer) stats.closedByServer++;
        stats.endedBy[r.why] = (stats.endedBy[r.why] ?? 0) + 1;
        if (r.malformed !== undefined) stats.malformed.push(`batch ${stats.batches + 1}: ${r.malformed}`);
      }
    };
    await Promise.all(Array.from({ length: conns }, worker));
    stats.batches++;
    await checkTargets(targets, pingBoundMs, stats, `batch ${stats.batches}`);
    if (stats.crashes.length > 0) break;
    if (stats.batches % cleanupEvery === 0) {
      const leader = targets.length === 1 ? targets[0] : await findLeader(targets);
      if (leader === undefined || !(await cleanup(leader, databases))) stats.cleanupsFailed++;
    }
    if (Date.now() - lastLog > 60_000) {
      lastLog = Date.now();
      log(`resp: ${stats.requests} requests, ${stats.batches} batches, ${Math.round((Date.now() - start) / 1000)} s`);
    }
  }
  stats.durationMs = Date.now() - start;
  return stats;
}

export async function checkTargets(targets, pingBoundMs, stats, when) {
  for (const t of targets) {
    if (t.pid !== undefined && !alive(t.pid)) {
      stats.crashes.push(`${when}: node ${t.id} (pid ${t.pid}) is gone`);
      continue;
    }
    if (!(await pingWithin(t.host, t.port, pingBoundMs))) stats.hangs.push(`${when}: node ${t.id} did not answer PING within ${pingBoundMs} ms`);
  }
}

/**
 * Sends `bytes` on a fresh connection to a cluster port, optionally after a
 * valid handshake, and reports whether the node closed the connection:
 * waits up to `closeWaitMs` for a close when one is expected, `lingerMs`
 * otherwise.
 */
export function peerConnection(target, bytes, { handshake, expectClose = false, closeWaitMs = 3000, lingerMs = 150 } = {}) {
  return new Promise((resolve) => {
    const res = { handshakeOk: false, handshakeError: undefined, closedByNode: false };
    const sock = net.connect(target.clusterPort, target.host);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(t);
      sock.destroy();
      resolve(res);
    };
    let t = setTimeout(finish, closeWaitMs + 5000);
    sock.on('error', () => {});
    sock.on('close', () => {
      res.closedByNode = !done;
      finish();
    });
    sock.once('connect', async () => {
      if (handshake) {
        try {
          await peerHandshake(sock, handshake);
          res.handshakeOk = true;
        } catch (e) {
          res.handshakeError = e.message;
          finish();
          return;
        }
      }
      // Read (and drop) what the node sends, or its FIN would never be seen.
      sock.on('data', () => {});
      sock.write(bytes);
      clearTimeout(t);
      t = setTimeout(finish, expectClose ? closeWaitMs : lingerMs);
    });
  });
}

/**
 * The peer-frame fuzzer: `frames` frames to the cluster ports, a quarter of
 * the connections before the handshake (every node), the rest after a valid
 * one (followers, posing as the other follower: Raft followers do not talk
 * to each other, so the pose displaces no link the cluster needs; see
 * docs/security.md). Before the handshake only a connection's first frame
 * is read, so it counts as one frame.
 */
export async function runPeerFuzz(opts) {
  const { targets, clusterId, seed, frames, conns = 24, framesPerConn = 40, batchFrames = 2000, pingBoundMs = 10_000, timeLimitMs = Infinity, log = () => {} } = opts;
  const gen = new PeerFrameGenerator(seed, { clusterId, memberIds: targets.map((t) => t.id) });
  const stats = { frames: 0, framesBefore: 0, framesAfter: 0, batches: 0, connections: 0, handshakes: 0, handshakeFailures: [], closedByNode: 0, expectedCloseMissing: [], hangs: [], crashes: [] };
  const start = Date.now();
  let post = [];
  const refreshRoles = async () => {
    const leader = await waitLeader(targets);
    const followers = targets.filter((t) => t.id !== leader.id);
    post = followers.length >= 2 ? followers.map((f, i) => ({ target: f, poseAs: followers[(i + 1) % followers.length].id, leader: leader.id })) : [];
  };
  if (targets.length > 1) await refreshRoles();
  let k = 0;
  let lastLog = start;
  while (stats.frames < frames && Date.now() - start < timeLimitMs) {
    const batchEnd = Math.min(frames, stats.frames + batchFrames);
    const worker = async () => {
      while (stats.frames < batchEnd) {
        const i = k++;
        const after = post.length > 0 && i % 4 !== 0;
        const pick = after ? post[i % post.length] : { target: targets[i % targets.length] };
        const n = after ? Math.max(1, Math.min(1 + gen.int(framesPerConn), batchEnd - stats.frames)) : 1;
        const batch = after ? gen.postHandshake(pick.target.id, n) : gen.preHandshake(pick.target.id, 1);
        stats.frames += n;
        if (after) stats.framesAfter += n;
        else stats.framesBefore += n;
        const handshake = after ? { clusterId, from: pick.poseAs, to: pick.target.id } : undefined;
        const r = await peerConnection(pick.target, batch.bytes, { handshake, expectClose: batch.mustClose });
        stats.connections++;
        if (after) {
          if (r.handshakeOk) stats.handshakes++;
          else stats.handshakeFailures.push(`node ${pick.target.id} as ${pick.poseAs}: ${r.handshakeError}`);
        }
        if (r.closedByNode) stats.closedByNode++;
        else if (batch.mustClose && (!after || r.handshakeOk)) {
          stats.expectedCloseMissing.push(`node ${pick.target.id} ${after ? 'after' : 'before'} handshake: ${batch.why}`);
        }
      }
    };
    await Promise.all(Array.from({ length: conns }, worker));
    stats.batches++;
    await checkTargets(targets, pingBoundMs, stats, `peer batch ${stats.batches}`);
    if (stats.crashes.length > 0) break;
    if (targets.length > 1 && stats.batches % 10 === 0) {
      const l = await findLeader(targets);
      if (l === undefined || l.id !== post[0]?.leader) await refreshRoles();
    }
    if (Date.now() - lastLog > 60_000) {
      lastLog = Date.now();
      log(`peer: ${stats.frames} frames, ${stats.batches} batches, ${Math.round((Date.now() - start) / 1000)} s`);
    }
  }
  stats.durationMs = Date.now() - start;
  return stats;
}
