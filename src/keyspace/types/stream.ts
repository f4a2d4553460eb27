/**
 * A Redis stream (t_stream.c): entries in ID order, kept as Redis keeps
 * them, in blocks ("nodes", Redis's listpacks under a rax) of at most
 * stream-node-max-entries entries or stream-node-max-bytes listpack bytes (encodingLimits), each keyed by
 * the ID of the first entry added to it (its master ID). The nodes sit in
 * an array ordered by master ID, with a moving head:
 *
 *   - XADD appends to the tail node or opens a new one: O(1) amortised;
 *   - trimming drops whole nodes from the head (O(1) each) and marks
 *     entries deleted inside the first remaining node, as Redis does;
 *   - a range read binary-searches the node and the entry: O(log n + m);
 *   - XDEL marks an entry deleted (a tombstone) and drops its node once it
 *     holds no live entry (an array splice of node pointers: n/100 moves).
 *
 * The node boundaries are Redis's exactly (each node's listpack size is
 * counted the way listpack.c would encode it), because they show: `~`
 * trimming removes whole nodes only, XDEL of a node's last live entry frees
 * the node, and XINFO STREAM reports the number of nodes. Consumer groups
 * are in stream-groups.ts, snapshot items in stream-items.ts.
 */
import type { Collection } from '../keyspace.js';
import { encodingLimits } from './encodings.js';
import { string2ll } from '../../util/number.js';
import { type ConsumerGroup } from './stream-groups.js';
import { AUTO_ID, MAX_ID, ZERO_ID, halfDelta, safeHalf, type StreamId } from './stream-id.js';
import { streamForEachItem } from './stream-items.js';

/** STREAM_LISTPACK_MAX_SIZE (also a node's bytes when stream-node-max-bytes is 0 or larger). */
export const LISTPACK_MAX_SIZE = 1 << 30;

/** Bytes of one listpack element holding the integer v, backlen included. */
function lpIntSize(v: number | bigint): number {
  let enc: number;
  if (typeof v === 'number') {
    enc = v >= 0 && v <= 127 ? 1 : v >= -4096 && v <= 4095 ? 2 : v >= -32768 && v <= 32767 ? 3 : v >= -8388608 && v <= 8388607 ? 4 : v >= -2147483648 && v <= 2147483647 ? 5 : 9;
  } else {
    enc = 9;
  }
  return enc + 1; // an integer encoding is at most 9 bytes: a one-byte backlen
}

/** Bytes of one listpack element holding the string s (stored as an integer when it is one). */
function lpStrSize(s: string): number {
  if (s.length <= 20) {
    const v = string2ll(s);
    if (v !== null) return lpIntSize(v);
  }
  const n = s.length;
  const enc = (n <= 63 ? 1 : n <= 4095 ? 2 : 5) + n;
  return enc + (enc <= 127 ? 1 : enc < 16383 ? 2 : enc < 2097151 ? 3 : enc < 268435455 ? 4 : 5);
}

/** One listpack: a master entry plus entries (live or deleted). */
export class StreamNode {
  readonly ids: StreamId[] = [];
  /**
   * Per entry: field, value, field, value, …; or, for an entry with the
   * master entry's one field (Redis's SAMEFIELDS flag, the common case),
   * just its value (no array kept per entry). Read through entry(e).
   */
  readonly vals: (string[] | string)[] = [];
  /** Per entry: deleted (a tombstone). Written only by deletions (XADD pushes nothing): an entry past its length is live. */
  readonly dead: boolean[] = [];
  live = 0;
  deleted = 0;
  /** lpBytes: the listpack's size as Redis encodes it. */
  bytes = 0;

  /** The master ID's ms and seq as numbers (-1: not below 2^53): XADD's listpack deltas without reading the ID string. */
  readonly masterMs: number;
  readonly masterSeq: number;

  constructor(
    readonly master: StreamId,
    readonly masterFields: string[],
  ) {
    this.masterMs = safeHalf(master, 0);
    this.masterSeq = safeHalf(master, 8);
  }

  /** Entry e's fields and values. */
  entry(e: number): string[] {
    const v = this.vals[e]!;
    return typeof v === 'string' ? [this.masterFields[0]!, v] : v;
  }

  /** Index of the first entry with ID >= id (ids.length if none). */
  lowerBound(id: StreamId): number {
    const ids = this.ids;
    let lo = 0;
    let hi = ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ids[mid]! < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  clone(): StreamNode {
    const n = new StreamNode(this.master, this.masterFields);
    for (let i = 0; i < this.ids.length; i++) {
      n.ids.push(this.ids[i]!);
      n.vals.push(this.vals[i]!);
      n.dead.push(this.dead[i] === true);
    }
    n.live = this.live;
    n.deleted = this.deleted;
    n.bytes = this.bytes;
    return n;
  }
}

/** A place in the stream: node index (absolute in `nodes`) and entry index. */
interface Pos {
  n: number;
  e: number;
}

export interface TrimArgs {
  strategy: 'maxlen' | 'minid';
  maxlen: number;
  minid: StreamId;
  approx: boolean;
  /** 0: no limit. */
  limit: number;
}

export class StreamValue implements Collection {
  readonly type = 'stream' as const;
  /** Nodes from `head` on are live, ordered by master ID. */
  nodes: StreamNode[] = [];
  head = 0;
  length = 0;
  lastId: StreamId = ZERO_ID;
  firstId: StreamId = ZERO_ID;
  maxDeletedId: StreamId = ZERO_ID;
  /** A bigint only beyond 2^53 (XSETID ENTRIESADDED). */
  entriesAdded: number | bigint = 0;
  groups: Map<string, ConsumerGroup> | undefined;

  /** What OBJECT ENCODING answers. */
  get encoding(): string {
    return 'stream';
  }

  /** raxSize(s->rax): the number of nodes. */
  get nodeCount(): number {
    return this.nodes.length - this.head;
  }

  /** The live nodes, head first. */
  liveNodes(): StreamNode[] {
    return this.head === 0 ? this.nodes : this.nodes.slice(this.head);
  }

  /**
   * streamAppendItem once the ID is decided (greater than lastId): appends
   * the fields and values argv[from…] to the tail node or opens a new one
   * where Redis would. `auto`: the ID is the one idNextAutoParts just
   * answered, its halves in AUTO_ID (read from there: a double passed as an
   * argument would be boxed in a heap number per call).
   */
  append(id: StreamId, argv: readonly string[], from = 0, auto = false): void {
    const ms = auto ? AUTO_ID[0]! : -1;
    const seq = auto ? AUTO_ID[1]! : -1;
    let total = 0;
    for (let i = from; i < argv.length; i++) total += argv[i]!.length;
    const nf = (argv.length - from) / 2;
    let node = this.nodes.length > this.head ? this.nodes[this.nodes.length - 1]! : undefined;
    if (node !== undefined) {
      // streamAppendItem: stream-node-max-bytes (0: the listpack maximum), then stream-node-max-entries (0: no limit),
      // live and deleted entries counted. Cluster-wide: every replica splits at the same XADD.
      const maxBytes = encodingLimits.streamNodeBytes === 0 || encodingLimits.streamNodeBytes > LISTPACK_MAX_SIZE ? LISTPACK_MAX_SIZE : encodingLimits.streamNodeBytes;
      if (node.bytes + total >= maxBytes || (encodingLimits.streamNodeEntries !== 0 && node.live + node.deleted >= encodingLimits.streamNodeEntries)) node = undefined;
    }
    let same = true;
    if (node === undefined) {
      const fields: string[] = new Array<string>(nf);
      for (let i = 0; i < nf; i++) fields[i] = argv[from + 2 * i]!;
      node = new StreamNode(id, fields);
      // Header and end byte, then count, deleted, num-fields, the fields and the master terminator.
      let b = 6 + 1 + lpIntSize(1) + lpIntSize(0) + lpIntSize(nf) + lpIntSize(0);
      for (const f of fields) b += lpStrSize(f);
      node.bytes = b;
      this.nodes.push(node);
    } else {
      const mf = node.masterFields;
      if (mf.length !== nf) same = false;
      else for (let i = 0; i < nf && same; i++) if (mf[i] !== argv[from + 2 * i]) same = false;
    }
    // The master-relative ms and seq (the differences of safe integers are exact, as halfDelta's).
    const dMs = ms >= 0 && node.masterMs >= 0 ? ms - node.masterMs : halfDelta(id, node.master, 0);
    const dSeq = seq >= 0 && ms >= 0 && node.masterSeq >= 0 ? seq - node.masterSeq : halfDelta(id, node.master, 8);
    let b = lpIntSize(same ? 2 : 0) + lpIntSize(dMs) + lpIntSize(dSeq);
    if (!same) b += lpIntSize(nf);
    for (let i = same ? from + 1 : from; i < argv.length; i += same ? 2 : 1) b += lpStrSize(argv[i]!);
    b += lpIntSize(nf + 3 + (same ? 0 : nf + 1));
    node.bytes += b;
    node.ids.push(id);
    if (same && nf === 1) {
      // Redis keeps such an entry's field once, in the master entry: so do we (its value alone, no array per entry).
      node.vals.push(argv[from + 1]!);
    } else {
      const vals = argv.slice(from);
      // The master's field strings are shared rather than one copy per entry.
      if (same) for (let i = 0; i < nf; i++) vals[2 * i] = node.masterFields[i]!;
      node.vals.push(vals);
    }
    node.live++;
    this.length++;
    // A long long in Redis: XSETID ENTRIESADDED 9223372036854775807 then XADD wraps.
    this.entriesAdded = typeof this.entriesAdded === 'number' ? this.entriesAdded + 1 : BigInt.asIntN(64, this.entriesAdded + 1n);
    this.lastId = id;
    if (this.length === 1) this.firstId = id;
  }

  /** raxSeek "<=" key, falling back to the first node: the node a forward walk from id starts at. */
  private seekNode(id: StreamId): number {
    const nodes = this.nodes;
    let lo = this.head;
    let hi = nodes.length; // first node whose master > id
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (nodes[mid]!.master <= id) lo = mid + 1;
      else hi = mid;
    }
    return lo > this.head ? lo - 1 : this.head;
  }

  /** The first live entry with ID >= id, or undefined. */
  private firstFrom(id: StreamId): Pos | undefined {
    const nodes = this.nodes;
    for (let n = this.seekNode(id); n < nodes.length; n++) {
      const node = nodes[n]!;
      for (let e = node.lowerBound(id); e < node.ids.length; e++) if (!node.dead[e]) return { n, e };
    }
    return undefined;
  }

  /** The last live entry with ID <= id, or undefined. */
  private lastUpTo(id: StreamId): Pos | undefined {
    const nodes = this.nodes;
    for (let n = this.seekNode(id); n >= this.head; n--) {
      const node = nodes[n]!;
      let e = node.lowerBound(id);
      if (e < node.ids.length && node.ids[e] === id) e++;
      for (e--; e >= 0; e--) if (!node.dead[e]) return { n, e };
    }
    return undefined;
  }

  /**
   * Calls fn for each live entry with start <= ID <= end, ascending (or
   * descending with rev), at most `count` of them (0: all). Returns how
   * many. fn must not change the stream.
   */
  range(start: StreamId, end: StreamId, rev: boolean, count: number, fn: (id: StreamId, vals: string[]) => void): number {
    if (start > end || this.length === 0) return 0;
    const nodes = this.nodes;
    let emitted = 0;
    if (!rev) {
      const p = this.firstFrom(start);
      if (p === undefined) return 0;
      let e = p.e;
      for (let n = p.n; n < nodes.length; n++, e = 0) {
        const node = nodes[n]!;
        for (; e < node.ids.length; e++) {
          if (node.dead[e]) continue;
          const id = node.ids[e]!;
          if (id > end) return emitted;
          fn(id, node.entry(e));
          if (++emitted === count) return emitted;
        }
      }
    } else {
      const p = this.lastUpTo(end);
      if (p === undefined) return 0;
      let e = p.e;
      for (let n = p.n; n >= this.head; n--) {
        const node = nodes[n]!;
        if (n !== p.n) e = node.ids.length - 1;
        for (; e >= 0; e--) {
          if (node.dead[e]) continue;
          const id = node.ids[e]!;
          if (id < start) return emitted;
          fn(id, node.entry(e));
          if (++emitted === count) return emitted;
        }
      }
    }
    return emitted;
  }

  /** The fields and values of a live entry, or undefined (streamEntryExists). */
  get(id: StreamId): string[] | undefined {
    const p = this.firstFrom(id);
    if (p === undefined) return undefined;
    const node = this.nodes[p.n]!;
    return node.ids[p.e] === id ? node.entry(p.e) : undefined;
  }

  /** streamLastValidID: the last live entry's ID (ZERO_ID when empty). */
  lastValidId(): StreamId {
    const p = this.lastUpTo(MAX_ID);
    return p === undefined ? ZERO_ID : this.nodes[p.n]!.ids[p.e]!;
  }

  /** streamGetEdgeID(first, skip tombstones): the first live ID, or MAX_ID when empty. */
  firstValidId(): StreamId {
    const p = this.firstFrom(ZERO_ID);
    return p === undefined ? MAX_ID : this.nodes[p.n]!.ids[p.e]!;
  }

  /** streamGetEdgeID(first, with tombstones): what XADD/XTRIM `~` rewrite to (MAX_ID when there is no node). */
  firstEdgeId(): StreamId {
    return this.nodes.length > this.head ? this.nodes[this.head]!.ids[0]! : MAX_ID;
  }

  /** streamDeleteItem: marks a live entry deleted (freeing its node when it was the last live one). */
  delete(id: StreamId): boolean {
    const p = this.firstFrom(id);
    if (p === undefined) return false;
    const node = this.nodes[p.n]!;
    if (node.ids[p.e] !== id) return false;
    if (node.live === 1) {
      this.removeNode(p.n);
    } else {
      node.dead[p.e] = true;
      node.live--;
      node.deleted++;
    }
    this.length--;
    return true;
  }

  private removeNode(n: number): void {
    if (n === this.head) this.dropHead();
    else this.nodes.splice(n, 1);
  }

  /** Drops the head node, compacting the array once most of it is dropped nodes. */
  private dropHead(): void {
    this.nodes[this.head] = undefined as unknown as StreamNode;
    this.head++;
    if (this.head === this.nodes.length) {
      this.nodes = [];
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.nodes.length) {
      this.nodes = this.nodes.slice(this.head);
      this.head = 0;
    }
  }

  /** streamTrim: returns the number of entries removed. */
  trim(a: TrimArgs): number {
    let deleted = 0;
    while (this.nodes.length > this.head) {
      if (a.strategy === 'maxlen' && this.length <= a.maxlen) break;
      const node = this.nodes[this.head]!;
      const entries = node.live;
      if (a.limit !== 0 && deleted + entries > a.limit) break;
      const removeNode = a.strategy === 'maxlen' ? this.length - entries >= a.maxlen : node.ids[node.ids.length - 1]! < a.minid;
      if (removeNode) {
        this.dropHead();
        this.length -= entries;
        deleted += entries;
        continue;
      }
      if (a.approx) break;
      // Mark entries deleted inside this node, then stop: the rest must stay.
      for (let e = 0; e < node.ids.length; e++) {
        const stop = a.strategy === 'maxlen' ? this.length <= a.maxlen : node.ids[e]! >= a.minid;
        if (stop) break;
        if (!node.dead[e]) {
          node.dead[e] = true;
          node.live--;
          node.deleted++;
          this.length--;
          deleted++;
        }
      }
      break;
    }
    if (this.length === 0) this.firstId = ZERO_ID;
    else if (deleted > 0) this.firstId = this.firstValidId();
    return deleted;
  }

  clone(): StreamValue {
    const s = new StreamValue();
    for (let i = this.head; i < this.nodes.length; i++) s.nodes.push(this.nodes[i]!.clone());
    s.length = this.length;
    s.lastId = this.lastId;
    s.firstId = this.firstId;
    s.maxDeletedId = this.maxDeletedId;
    s.entriesAdded = this.entriesAdded;
    if (this.groups !== undefined) {
      s.groups = new Map();
      for (const [name, g] of this.groups) s.groups.set(name, g.clone());
    }
    return s;
  }

  forEachItem(fn: (item: string) => void): void {
    streamForEachItem(this, fn);
  }

  *items(): IterableIterator<string> {
    const out: string[] = [];
    streamForEachItem(this, (s) => out.push(s));
    yield* out;
  }
}
