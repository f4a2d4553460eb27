/**
 * Streams in RDB (rdb.c, RDB_TYPE_STREAM_LISTPACKS and _2; t_stream.c's
 * listpack layout): the nodes as (master ID, listpack) pairs, then the
 * stream's counters and its consumer groups with their PELs.
 *
 * A node's listpack: count, deleted, master field count, master fields, 0;
 * then per entry: flags (1 deleted, 2 same fields as the master), ms and
 * seq deltas to the master ID, [field count, fields and] values, and the
 * entry's element count (lp-count).
 */
import { Consumer, ConsumerGroup, Nack, sortedGroups } from '../types/stream-groups.js';
import { estimateDistance } from '../types/stream-lag.js';
import { ZERO_ID, halfDelta, idMs, idOfBig, idSeq, type StreamId } from '../types/stream-id.js';
import { StreamNode, StreamValue } from '../types/stream.js';
import { ByteSink, bad, narrow } from './bytes.js';
import { RdbType, saveBlob, saveLen, saveMillis, saveString, type RdbReader } from './format.js';
import { ListpackWriter, lpInt, lpString, readListpack } from './listpack.js';

const FLAG_DELETED = 1;
const FLAG_SAMEFIELDS = 2;

function saveId(out: ByteSink, id: StreamId): void {
  saveLen(out, idMs(id));
  saveLen(out, idSeq(id));
}

function nodeListpack(node: StreamNode): Buffer {
  const lp = new ListpackWriter();
  const mf = node.masterFields;
  lp.int(node.live);
  lp.int(node.deleted);
  lp.int(mf.length);
  for (const f of mf) lp.str(f);
  lp.int(0);
  for (let e = 0; e < node.ids.length; e++) {
    const id = node.ids[e]!;
    const vals = node.entry(e);
    const nf = vals.length / 2;
    let same = nf === mf.length;
    for (let i = 0; i < nf && same; i++) if (vals[2 * i] !== mf[i]) same = false;
    lp.int((node.dead[e] ? FLAG_DELETED : 0) | (same ? FLAG_SAMEFIELDS : 0));
    lp.int(halfDelta(id, node.master, 0));
    lp.int(halfDelta(id, node.master, 8));
    if (same) {
      for (let i = 1; i < vals.length; i += 2) lp.str(vals[i]!);
    } else {
      lp.int(nf);
      for (const s of vals) lp.str(s);
    }
    lp.int(nf + 3 + (same ? 0 : nf + 1));
  }
  return lp.finish();
}

export function saveStream(out: ByteSink, s: StreamValue): void {
  saveLen(out, s.nodeCount);
  for (let n = s.head; n < s.nodes.length; n++) {
    const node = s.nodes[n]!;
    saveBlob(out, Buffer.from(node.master, 'latin1'));
    saveBlob(out, nodeListpack(node));
  }
  saveLen(out, s.length);
  saveId(out, s.lastId);
  saveId(out, s.firstId);
  saveId(out, s.maxDeletedId);
  saveLen(out, s.entriesAdded);
  const groups = sortedGroups(s.groups);
  saveLen(out, groups.length);
  for (const [name, g] of groups) {
    saveString(out, name);
    saveId(out, g.lastId);
    saveLen(out, g.entriesRead);
    saveLen(out, g.pel.size);
    for (const id of g.pelOrder) {
      const nack = g.pel.get(id)!;
      out.latin1(id);
      saveMillis(out, nack.deliveryTime);
      saveLen(out, nack.deliveryCount);
    }
    const consumers = g.sortedConsumers();
    saveLen(out, consumers.length);
    for (const c of consumers) {
      saveString(out, c.name);
      saveMillis(out, c.seenTime);
      saveLen(out, c.pel.size);
      for (const id of c.pel) out.latin1(id);
    }
  }
}

function idFrom(master: StreamId, msDelta: number | bigint, seqDelta: number | bigint): StreamId {
  const ms = BigInt.asUintN(64, BigInt(idMs(master)) + BigInt(msDelta));
  const seq = BigInt.asUintN(64, BigInt(idSeq(master)) + BigInt(seqDelta));
  return idOfBig(ms, seq);
}

function loadNode(master: StreamId, lpBytes: Buffer): StreamNode {
  const els = readListpack(lpBytes);
  if (els.length === 0) bad('empty listpack inside stream');
  let i = 0;
  const next = (): string | number | bigint => {
    if (i >= els.length) bad('stream listpack ends early');
    return els[i++]!;
  };
  const int = (): number => {
    const v = lpInt(next());
    if (typeof v !== 'number') bad('stream listpack count out of range');
    return v;
  };
  const count = int();
  const deleted = int();
  const nmf = int();
  if (count < 0 || deleted < 0 || nmf < 0) bad('negative stream listpack count');
  const mf: string[] = [];
  for (let k = 0; k < nmf; k++) mf.push(lpString(next()));
  if (int() !== 0) bad('bad stream master entry terminator');
  const node = new StreamNode(master, mf);
  node.bytes = lpBytes.length;
  let prev: StreamId | undefined;
  while (i < els.length) {
    const flags = int();
    const id = idFrom(master, lpInt(next()), lpInt(next()));
    if (prev !== undefined ? id <= prev : id < master) bad('stream entries out of order');
    prev = id;
    const vals: string[] = [];
    let nf: number;
    if (flags & FLAG_SAMEFIELDS) {
      nf = nmf;
      for (let k = 0; k < nf; k++) vals.push(mf[k]!, lpString(next()));
    } else {
      nf = int();
      if (nf < 0) bad('negative stream field count');
      for (let k = 0; k < 2 * nf; k++) vals.push(lpString(next()));
    }
    if (int() !== nf + 3 + (flags & FLAG_SAMEFIELDS ? 0 : nf + 1)) bad('bad stream lp-count');
    const dead = (flags & FLAG_DELETED) !== 0;
    node.ids.push(id);
    node.vals.push(vals);
    node.dead.push(dead);
    if (dead) node.deleted++;
    else node.live++;
  }
  if (node.live !== count || node.deleted !== deleted) bad('stream listpack counts mismatch');
  if (node.live === 0) bad('stream node without live entries');
  return node;
}

function loadId(r: RdbReader): StreamId {
  const ms = r.len64();
  const seq = r.len64();
  return idOfBig(BigInt.asUintN(64, BigInt(ms)), BigInt.asUintN(64, BigInt(seq)));
}

function rawId(r: RdbReader): StreamId {
  return r.bytes(16).toString('latin1');
}

/** rdbLoadObject for RDB_TYPE_STREAM_LISTPACKS and _2 (with the checks of deep sanitization). */
export function loadStream(r: RdbReader, type: RdbType): StreamValue {
  const s = new StreamValue();
  const nodes = r.len();
  let live = 0;
  let prevLast: StreamId | undefined;
  for (let n = 0; n < nodes; n++) {
    const key = r.stringBytes();
    if (key.length !== 16) bad('stream node key entry is not the size of a stream ID');
    const node = loadNode(key.toString('latin1'), r.stringBytes());
    if (prevLast !== undefined && node.ids[0]! <= prevLast) bad('stream nodes out of order');
    prevLast = node.ids[node.ids.length - 1]!;
    live += node.live;
    s.nodes.push(node);
  }
  const length = r.len64();
  if (length !== live) bad('stream length mismatch');
  s.length = live;
  s.lastId = loadId(r);
  if (prevLast !== undefined && prevLast > s.lastId) bad('stream last ID below its entries');
  if (type === RdbType.StreamListpacks2) {
    s.firstId = loadId(r);
    s.maxDeletedId = loadId(r);
    s.entriesAdded = narrow(BigInt.asIntN(64, BigInt(r.len64())));
  } else {
    s.maxDeletedId = ZERO_ID;
    s.entriesAdded = live;
    s.firstId = s.firstValidId();
  }
  const ngroups = r.len();
  for (let k = 0; k < ngroups; k++) {
    const name = r.string();
    const lastId = loadId(r);
    let entriesRead: number | bigint;
    // Redis 5/6 kept no read counter: 7.0 estimates it from the stream, as on XGROUP SETID.
    if (type === RdbType.StreamListpacks2) entriesRead = narrow(BigInt.asIntN(64, BigInt(r.len64())));
    else entriesRead = estimateDistance(s, lastId);
    const g = new ConsumerGroup(lastId, entriesRead);
    const pending = new Map<StreamId, [number, number | bigint]>();
    const npel = r.len();
    for (let p = 0; p < npel; p++) {
      const id = rawId(r);
      if (pending.has(id)) bad('duplicated global PEL entry loading stream consumer group');
      pending.set(id, [r.millis(), r.len64()]);
    }
    const nconsumers = r.len();
    for (let c = 0; c < nconsumers; c++) {
      const cname = r.string();
      if (g.consumers.has(cname)) bad('duplicate stream consumer');
      const consumer = new Consumer(cname, r.millis());
      g.consumers.set(cname, consumer);
      const n = r.len();
      for (let p = 0; p < n; p++) {
        const id = rawId(r);
        const nack = pending.get(id);
        if (nack === undefined || g.pel.has(id)) bad('consumer PEL entry not in the group PEL');
        g.addNack(id, new Nack(consumer, nack[0], nack[1]));
      }
    }
    if (g.pel.size !== pending.size) bad('stream group PEL entry without a consumer');
    s.groups ??= new Map();
    if (s.groups.has(name)) bad('duplicated consumer group name loading stream');
    s.groups.set(name, g);
  }
  return s;
}
