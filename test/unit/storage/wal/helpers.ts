/** Shared helpers of the segment-log tests: temp directories, opening and reopening WalLog, entry builders. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { MessageType, newMessage, type Entry } from '../../../../src/raft/messages.js';
import type { StoredEntry } from '../../../../src/storage/log-backend.js';
import { RECORD_HEADER } from '../../../../src/storage/wal/record.js';
import { SEGMENT_HEADER } from '../../../../src/storage/wal/segment.js';
import { decodeMessage, encodeMessage } from '../../../../src/transport/codec.js';
import { WalLog, type WalOptions } from '../../../../src/storage/wal/wal-log.js';

const dirs: string[] = [];
const logs: WalLog[] = [];

/** Registers the cleanup of every directory and log the helpers hand out (call once per test file). */
export function cleanupAfterEach(): void {
  afterEach(async () => {
    for (const s of logs.splice(0)) await s.close().catch(() => {});
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
}

export function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-wal-'));
  dirs.push(d);
  return d;
}

export async function open(dir: string, opts: WalOptions = {}): Promise<WalLog> {
  const s = await WalLog.open(dir, opts);
  logs.push(s);
  return s;
}

export async function close(s: WalLog): Promise<void> {
  logs.splice(logs.indexOf(s), 1);
  await s.close();
}

export async function reopen(s: WalLog, opts: WalOptions = {}): Promise<WalLog> {
  await close(s);
  return open(s.dir, opts);
}

export async function all(s: { entries(lo?: number, hi?: number): AsyncIterable<StoredEntry> }, lo?: number, hi?: number): Promise<StoredEntry[]> {
  const out: StoredEntry[] = [];
  for await (const e of s.entries(lo, hi)) out.push({ ...e, data: Buffer.from(e.data) });
  return out;
}

export const entry = (index: number, term: number, data: string): StoredEntry => ({ index, term, type: 0, data: Buffer.from(data) });

/** Entries lo..hi (inclusive), data `d<index>` (one in seven empty, one in five of type 1). */
export const range = (lo: number, hi: number, term: number, pad = 0): StoredEntry[] =>
  Array.from({ length: hi - lo + 1 }, (_, i) => ({
    index: lo + i,
    term,
    type: (lo + i) % 5 === 0 ? 1 : 0,
    data: Buffer.from((lo + i) % 7 === 0 ? '' : `d${lo + i}${'x'.repeat(pad)}`),
  }));

export const show = (es: StoredEntry[]): string[] => es.map((e) => `${e.index}/${e.term}/${e.type}/${e.data.toString()}`);
export const shown = (e: StoredEntry | undefined): string | undefined => (e === undefined ? undefined : show([e])[0]);

/** The segment files of the log in `dir`, oldest first. */
export function segments(dir: string): string[] {
  const w = path.join(dir, 'wal');
  return fs
    .readdirSync(w)
    .filter((n) => n.endsWith('.wal'))
    .sort()
    .map((n) => path.join(w, n));
}

/**
 * `entries` as a follower has them: sent in an append (a MsgApp), decoded
 * from its bytes, so the transport noted them as a wire run (util/wire-entries.ts)
 * and the log writes them as a wire entries record. The bytes sit inside a
 * larger buffer, as a frame body's do.
 */
export function wire(entries: readonly StoredEntry[]): StoredEntry[] {
  if (entries.length === 0) return [];
  const m = newMessage({ type: MessageType.App, from: 1, to: 2, term: 9, logTerm: 1, index: entries[0]!.index - 1, entries: entries as Entry[], commit: 3 });
  const enc = encodeMessage(m);
  const body = Buffer.alloc(enc.length + 20, 0xee);
  enc.copy(body, 7);
  return decodeMessage(body.subarray(7, 7 + enc.length)).entries;
}

/** range(), as a follower receives it (see wire). */
export const wireRange = (lo: number, hi: number, term: number, pad = 0): StoredEntry[] => wire(range(lo, hi, term, pad));

/** The types of the records in segment file `file`, in order (the two state records at its start included). */
export function recordTypes(file: string): number[] {
  const b = fs.readFileSync(file);
  const types: number[] = [];
  for (let off = SEGMENT_HEADER; off + RECORD_HEADER <= b.length; ) {
    const len = b.readUInt32LE(off + 4);
    if (len === 0) break;
    types.push(b[off + 8]!);
    off += 8 + len;
  }
  return types;
}
