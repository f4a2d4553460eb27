/**
 * Binary encoding of Raft messages (wire format v1, see docs/peer-protocol.md).
 *
 * Encoding is two passes over the message: `messageSize` validates every
 * number and computes the exact size, `writeMessage` fills a buffer the caller
 * allocated once (a whole RaftBatch frame is one allocation). Decoding reads
 * through a BodyReader, so every length is checked against the frame before
 * it is used; byte fields of decoded messages are views into the frame body.
 */
import {
  EMPTY_BUFFER,
  EntryType,
  MessageType,
  type ConfState,
  type Entry,
  type Message,
  type Snapshot,
} from '../raft/messages.js';
import { noteWireRun } from '../util/wire-entries.js';
import { FrameError } from './errors.js';
import { BodyReader } from './reader.js';
import { checkUint, lengthPrefixedSize, varintSize, writeLengthPrefixed, writeVarint } from './varint.js';

const FLAG_REJECT = 0x01;
const FLAG_SNAPSHOT = 0x02;
const KNOWN_FLAGS = FLAG_REJECT | FLAG_SNAPSHOT;

/** type + index + term + data length, each at least one byte. */
const MIN_ENTRY_BYTES = 4;
/** type, flags, 7 varints, context length, entry count. */
export const MIN_MESSAGE_BYTES = 11;

// Numeric enums map values back to names, so "is a known value" follows
// src/raft/messages.ts when types are appended there.
function isMessageType(t: number): t is MessageType {
  return typeof (MessageType as Record<number, unknown>)[t] === 'string';
}
function isEntryType(t: number): t is EntryType {
  return typeof (EntryType as Record<number, unknown>)[t] === 'string';
}

function entrySize(e: Entry): number {
  if (!isEntryType(e.type)) throw new RangeError(`cannot encode entry type ${e.type}`);
  checkUint(e.index, 'entry.index');
  checkUint(e.term, 'entry.term');
  return 1 + varintSize(e.index) + varintSize(e.term) + lengthPrefixedSize(e.data.length);
}

function idsSize(ids: readonly number[], what: string): number {
  let n = varintSize(ids.length);
  for (const id of ids) {
    checkUint(id, what);
    n += varintSize(id);
  }
  return n;
}

function snapshotSize(s: Snapshot): number {
  const md = s.metadata;
  checkUint(md.index, 'snapshot.metadata.index');
  checkUint(md.term, 'snapshot.metadata.term');
  return (
    varintSize(md.index) +
    varintSize(md.term) +
    idsSize(md.confState.voters, 'confState.voters[]') +
    idsSize(md.confState.learners, 'confState.learners[]') +
    lengthPrefixedSize(s.data.length)
  );
}

/** Exact encoded size of `m`; throws RangeError if a field cannot be encoded. */
export function messageSize(m: Message): number {
  let n = messageHeaderSize(m) + entriesSectionSize(m.entries);
  if (m.snapshot !== undefined) n += snapshotSize(m.snapshot);
  return n;
}

/** Size of `m` up to its entries section (type, flags, numbers, context), validated as messageSize does. */
export function messageHeaderSize(m: Message): number {
  if (!isMessageType(m.type)) throw new RangeError(`cannot encode message type ${m.type}`);
  checkUint(m.from, 'from');
  checkUint(m.to, 'to');
  checkUint(m.term, 'term');
  checkUint(m.logTerm, 'logTerm');
  checkUint(m.index, 'index');
  checkUint(m.commit, 'commit');
  checkUint(m.rejectHint, 'rejectHint');
  return (
    2 +
    varintSize(m.from) +
    varintSize(m.to) +
    varintSize(m.term) +
    varintSize(m.logTerm) +
    varintSize(m.index) +
    varintSize(m.commit) +
    varintSize(m.rejectHint) +
    lengthPrefixedSize(m.context.length)
  );
}

/**
 * Size of an entries section: the count, then the entries. An entry whose
 * type is Normal and whose index and term are below 2^31 (every entry a
 * leader makes for years of writes) is checked by those compares alone;
 * anything else goes through entrySize's full validation.
 */
export function entriesSectionSize(entries: readonly Entry[]): number {
  let n = varintSize(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const index = e.index;
    const term = e.term;
    if (e.type === EntryType.Normal && (index | 0) === index && index >= 0 && (term | 0) === term && term >= 0) {
      const len = e.data.length;
      n += 1 + varintSize(index) + varintSize(term) + varintSize(len) + len;
    } else {
      n += entrySize(e);
    }
  }
  return n;
}

function writeIds(buf: Buffer, off: number, ids: readonly number[]): number {
  off = writeVarint(buf, off, ids.length);
  for (const id of ids) off = writeVarint(buf, off, id);
  return off;
}

/**
 * Writes `m` at `off` and returns the offset after it. The caller must have
 * called `messageSize(m)` (which validates) and sized `buf` accordingly.
 */
export function writeMessage(buf: Buffer, off: number, m: Message): number {
  off = writeMessageHeader(buf, off, m);
  off = writeEntriesSection(buf, off, m.entries);
  const s = m.snapshot;
  if (s !== undefined) {
    off = writeVarint(buf, off, s.metadata.index);
    off = writeVarint(buf, off, s.metadata.term);
    off = writeIds(buf, off, s.metadata.confState.voters);
    off = writeIds(buf, off, s.metadata.confState.learners);
    off = writeLengthPrefixed(buf, off, s.data);
  }
  return off;
}

/** Writes `m` up to its entries section (messageHeaderSize bytes); returns the offset after it. */
export function writeMessageHeader(buf: Buffer, off: number, m: Message): number {
  buf[off++] = m.type;
  buf[off++] = (m.reject ? FLAG_REJECT : 0) | (m.snapshot !== undefined ? FLAG_SNAPSHOT : 0);
  off = writeVarint(buf, off, m.from);
  off = writeVarint(buf, off, m.to);
  off = writeVarint(buf, off, m.term);
  off = writeVarint(buf, off, m.logTerm);
  off = writeVarint(buf, off, m.index);
  off = writeVarint(buf, off, m.commit);
  off = writeVarint(buf, off, m.rejectHint);
  return writeLengthPrefixed(buf, off, m.context);
}

/** Writes an entries section (entriesSectionSize bytes); returns the offset after it. */
export function writeEntriesSection(buf: Buffer, off: number, entries: readonly Entry[]): number {
  off = writeVarint(buf, off, entries.length);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    buf[off++] = e.type;
    // The index below 2^28 and a term and length below 128 (nearly every
    // entry) are written here; writeVarint's calls and its loop over values
    // above 2^31 cost ~100 instructions an entry under callgrind.
    let v = e.index;
    if (v < 0x10000000) {
      while (v >= 0x80) {
        buf[off++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[off++] = v;
    } else {
      off = writeVarint(buf, off, v);
    }
    const term = e.term;
    if (term < 0x80) buf[off++] = term;
    else off = writeVarint(buf, off, term);
    off = writeLengthPrefixed(buf, off, e.data);
  }
  return off;
}

/** Views of zero length are replaced by the shared empty buffer so they pin no frame. */
function orEmpty(b: Buffer): Buffer {
  return b.length === 0 ? EMPTY_BUFFER : b;
}

/** A length-prefixed field as a view, or the shared empty buffer (no view made) when it is empty. */
function bytesOrEmpty(r: BodyReader, what: string, lengthWhat: string): Buffer {
  const len = r.varint(lengthWhat);
  return len === 0 ? EMPTY_BUFFER : r.bytes(len, what);
}

function readIds(r: BodyReader, what: string): number[] {
  const n = r.count(`${what} count`, 1);
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push(r.varint(what));
  return ids;
}

function readSnapshot(r: BodyReader): Snapshot {
  const index = r.varint('snapshot.metadata.index');
  const term = r.varint('snapshot.metadata.term');
  const confState: ConfState = {
    voters: readIds(r, 'snapshot.confState.voters'),
    learners: readIds(r, 'snapshot.confState.learners'),
  };
  const data = orEmpty(r.lengthPrefixed('snapshot.data'));
  return { metadata: { index, term, confState }, data };
}

/** Reads one message at the reader's position. Throws FrameError on anything malformed. */
export function readMessage(r: BodyReader): Message {
  const type = r.u8('message.type');
  if (!isMessageType(type)) throw new FrameError('type', `unknown message type ${type}`);
  const flags = r.u8('message.flags');
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new FrameError('value', `unknown message flags 0x${flags.toString(16)}`);
  const from = r.varint('message.from');
  const to = r.varint('message.to');
  const term = r.varint('message.term');
  const logTerm = r.varint('message.logTerm');
  const index = r.varint('message.index');
  const commit = r.varint('message.commit');
  const rejectHint = r.varint('message.rejectHint');
  const context = bytesOrEmpty(r, 'message.context', 'message.context length');
  const n = r.count('message.entries count', MIN_ENTRY_BYTES);
  const entries: Entry[] = [];
  const start = r.pos;
  for (let i = 0; i < n; i++) {
    const et = r.u8('entry.type');
    if (!isEntryType(et)) throw new FrameError('type', `entry ${i}: unknown entry type ${et}`);
    const eIndex = r.varint('entry.index');
    const eTerm = r.varint('entry.term');
    const data = bytesOrEmpty(r, 'entry.data', 'entry.data length');
    entries.push({ index: eIndex, term: eTerm, type: et, data });
  }
  // An append's entries go to the follower's log as these bytes (util/wire-entries.ts).
  if (n > 0 && type === MessageType.App) noteWireRun({ entries, buf: r.buf, start, end: r.pos });
  const m: Message = {
    type,
    from,
    to,
    term,
    logTerm,
    index,
    entries,
    commit,
    reject: (flags & FLAG_REJECT) !== 0,
    rejectHint,
    context,
  };
  if ((flags & FLAG_SNAPSHOT) !== 0) m.snapshot = readSnapshot(r);
  return m;
}

/** One message in its own buffer (tests, tools); the transport encodes batches in place. */
export function encodeMessage(m: Message): Buffer {
  const size = messageSize(m);
  const buf = Buffer.allocUnsafe(size);
  const end = writeMessage(buf, 0, m);
  if (end !== size) throw new Error(`codec: wrote ${end} bytes, computed ${size}`);
  return buf;
}

/** Decodes a buffer holding exactly one message. */
export function decodeMessage(buf: Buffer): Message {
  const r = new BodyReader(buf);
  const m = readMessage(r);
  r.expectEnd('message');
  return m;
}

/** Size of a RaftBatch body: a message count followed by the messages. */
export function batchSize(msgs: readonly Message[]): number {
  let n = varintSize(msgs.length);
  for (const m of msgs) n += messageSize(m);
  return n;
}

export function writeBatch(buf: Buffer, off: number, msgs: readonly Message[]): number {
  off = writeVarint(buf, off, msgs.length);
  for (const m of msgs) off = writeMessage(buf, off, m);
  return off;
}

/** Decodes a whole RaftBatch body (at least one message, nothing after the last). */
export function decodeBatch(body: Buffer): Message[] {
  const r = new BodyReader(body);
  const n = r.count('batch count', MIN_MESSAGE_BYTES);
  if (n === 0) throw new FrameError('value', 'empty RaftBatch');
  const msgs: Message[] = [];
  for (let i = 0; i < n; i++) msgs.push(readMessage(r));
  r.expectEnd('RaftBatch');
  return msgs;
}
