#!/usr/bin/env node
// Prototype for issue 19's memory target: how many heap bytes one key costs
// in today's KeyTable (src/keyspace/key-table.ts: Map<string, slot> + a JS
// array of values + an Int32Array of clocks; keys and values V8 strings)
// against a packed table (an open-addressing index over an Int32Array, keys
// and short string values as bytes in chunked arenas, per-slot typed
// arrays; longer values and collections boxed in a JS Map by slot).
// Iteration of the packed table is by slot index: slots never move (a
// deleted key's slot is reused), so a walk visits every key present for its
// whole life exactly once, as SCAN and the snapshot walker need.
// Not a part of raftis: the measurement that src/keyspace/key-table.ts's packed
// table was built from (docs/decisions.md, "Memory per key").
// Usage: node --expose-gc bench/packed-table-proto.mjs [keys] [rounds]
import v8 from 'node:v8';
import vm from 'node:vm';

const KEYS = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = Number(process.argv[3] ?? 3);
v8.setFlagsFromString('--expose-gc');
const gc = globalThis.gc ?? vm.runInNewContext('gc');
const NO_CLOCK = -0x80000000;

/** Today's representation, as in src/keyspace/key-table.ts. */
class MapTable {
  slots = new Map();
  values = [];
  clocks = new Int32Array(16).fill(NO_CLOCK);
  free = [];
  get(key) { const s = this.slots.get(key); return s === undefined ? undefined : this.values[s]; }
  set(key, value) {
    const s0 = this.slots.get(key);
    if (s0 !== undefined) { this.values[s0] = value; return; }
    let s = this.free.pop();
    if (s === undefined) {
      s = this.values.length;
      this.values.push(value);
      if (s >= this.clocks.length) { const g = new Int32Array(this.clocks.length * 2).fill(NO_CLOCK); g.set(this.clocks); this.clocks = g; }
    } else this.values[s] = value;
    this.clocks[s] = NO_CLOCK;
    this.slots.set(key, s);
  }
  delete(key) { const s = this.slots.get(key); if (s === undefined) return false; this.slots.delete(key); this.values[s] = undefined; this.free.push(s); return true; }
  *keys() { yield* this.slots.keys(); }
}

const CHUNK_BITS = 20; // 1 MB arena chunks: no doubling slack, records never span chunks
const CHUNK = 1 << CHUNK_BITS;
/** Strings up to this many bytes are stored in the arena; longer ones (and collections) are boxed. */
const INLINE_MAX = 64;

/** A byte arena of 1 MB chunks with a free list per record length (records are not rounded up). */
class Arena {
  chunks = [];
  top = CHUNK; // forces a first chunk
  freeLists = [];
  alloc(n) {
    const fl = this.freeLists[n];
    if (fl !== undefined && fl.length > 0) return fl.pop();
    const size = n;
    if ((this.top & (CHUNK - 1)) + size > CHUNK || this.top >= this.chunks.length * CHUNK) {
      this.chunks.push(new Uint8Array(CHUNK));
      this.top = (this.chunks.length - 1) * CHUNK;
    }
    const off = this.top;
    this.top += size;
    return off;
  }
  release(off, n) { (this.freeLists[n] ??= []).push(off); }
  put(off, s) { const b = this.chunks[off >>> CHUNK_BITS]; let p = off & (CHUNK - 1); b[p++] = s.length; for (let i = 0; i < s.length; i++) b[p + i] = s.charCodeAt(i); }
  len(off) { return this.chunks[off >>> CHUNK_BITS][off & (CHUNK - 1)]; }
  equals(off, s) {
    const b = this.chunks[off >>> CHUNK_BITS]; const p = off & (CHUNK - 1);
    if (b[p] !== s.length) return false;
    for (let i = 0; i < s.length; i++) if (b[p + 1 + i] !== s.charCodeAt(i)) return false;
    return true;
  }
  str(off) {
    const b = this.chunks[off >>> CHUNK_BITS]; const p = off & (CHUNK - 1);
    return latin1(b, p + 1, b[p]);
  }
}
const dec = new TextDecoder('latin1');
function latin1(b, p, n) {
  if (n <= 16) { let s = ''; for (let i = 0; i < n; i++) s += String.fromCharCode(b[p + i]); return s; }
  return Buffer.from(b.buffer, b.byteOffset + p, n).latin1Slice(0, n);
}
void dec;

function hashOf(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The packed representation. */
class PackedTable {
  arena = new Arena();
  index = new Int32Array(16); // slot + 1, 0 = empty; linear probing, backward-shift deletion
  mask = 15;
  keyOff = new Uint32Array(16); // key record (length byte + bytes); keys > 255 bytes would be boxed too in the real thing
  valOff = new Int32Array(16); // value record, or -1: boxed (in `boxed`), or -2: free slot
  hashes = new Uint32Array(16);
  clocks = new Int32Array(16).fill(NO_CLOCK);
  boxed = new Map();
  used = 0; // slots handed out
  free = [];
  size = 0;
  find(key, h) {
    let i = h & this.mask;
    for (;;) {
      const e = this.index[i];
      if (e === 0) return -1 - i;
      const s = e - 1;
      if (this.hashes[s] === h && this.arena.equals(this.keyOff[s], key)) return s;
      i = (i + 1) & this.mask;
    }
  }
  get(key) {
    const s = this.find(key, hashOf(key));
    if (s < 0) return undefined;
    const v = this.valOff[s];
    return v >= 0 ? this.arena.str(v) : this.boxed.get(s);
  }
  setValue(s, value) {
    const old = this.valOff[s];
    if (old >= 0) this.arena.release(old, 1 + this.arena.len(old)); else if (old === -1) this.boxed.delete(s);
    if (typeof value === 'string' && value.length <= INLINE_MAX) {
      const off = this.arena.alloc(1 + value.length); this.arena.put(off, value); this.valOff[s] = off;
    } else { this.valOff[s] = -1; this.boxed.set(s, value); }
  }
  grow(slots) {
    const g = (a, fill) => { const n = new a.constructor(a.length * 2); if (fill !== undefined) n.fill(fill); n.set(a); return n; };
    if (slots >= this.keyOff.length) { this.keyOff = g(this.keyOff); this.valOff = g(this.valOff); this.hashes = g(this.hashes); this.clocks = g(this.clocks, NO_CLOCK); }
  }
  set(key, value) {
    const h = hashOf(key);
    let s = this.find(key, h);
    if (s >= 0) { this.setValue(s, value); return; }
    if ((this.size + 1) * 4 > this.index.length * 3) { this.rehash(this.index.length * 2); s = this.find(key, h); }
    const at = -1 - s;
    let slot = this.free.pop();
    if (slot === undefined) { slot = this.used++; this.grow(this.used); }
    const ko = this.arena.alloc(1 + key.length); this.arena.put(ko, key);
    this.keyOff[slot] = ko; this.hashes[slot] = h; this.valOff[slot] = -2; this.clocks[slot] = NO_CLOCK;
    this.setValue(slot, value);
    this.index[at] = slot + 1;
    this.size++;
  }
  rehash(n) {
    const idx = new Int32Array(n); const mask = n - 1;
    for (let s = 0; s < this.used; s++) {
      if (this.valOff[s] === -2) continue;
      let i = this.hashes[s] & mask; while (idx[i] !== 0) i = (i + 1) & mask; idx[i] = s + 1;
    }
    this.index = idx; this.mask = mask;
  }
  delete(key) {
    const s = this.find(key, hashOf(key));
    if (s < 0) return false;
    let i = this.hashes[s] & this.mask; while (this.index[i] !== s + 1) i = (i + 1) & this.mask;
    // backward-shift deletion
    let j = i;
    for (;;) {
      j = (j + 1) & this.mask;
      const e = this.index[j];
      if (e === 0) break;
      const home = this.hashes[e - 1] & this.mask;
      // the entry may move back to the hole unless its home lies cyclically in (i, j]
      const stays = i < j ? home > i && home <= j : home > i || home <= j;
      if (!stays) { this.index[i] = e; i = j; }
    }
    this.index[i] = 0;
    const ko = this.keyOff[s]; this.arena.release(ko, 1 + this.arena.len(ko));
    const vo = this.valOff[s];
    if (vo >= 0) this.arena.release(vo, 1 + this.arena.len(vo)); else this.boxed.delete(s);
    this.valOff[s] = -2; this.free.push(s); this.size--;
    return true;
  }
  *keys() { for (let s = 0; s < this.used; s++) if (this.valOff[s] !== -2) yield this.arena.str(this.keyOff[s]); }
}

function heapBytes() {
  gc(); gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

const value = 'v'.repeat(16);
function build(Table) {
  const before = heapBytes();
  const t = new Table();
  const t0 = process.hrtime.bigint();
  // keys made as the server makes them: fresh strings from bytes, not constants
  for (let i = 0; i < KEYS; i++) t.set(Buffer.from(`key:${i}`, 'latin1').latin1Slice(), Buffer.from(value, 'latin1').latin1Slice());
  const setNs = Number(process.hrtime.bigint() - t0) / KEYS;
  const after = heapBytes();
  const t1 = process.hrtime.bigint();
  let found = 0;
  for (let i = 0; i < KEYS; i++) if (t.get(`key:${(i * 7919) % KEYS}`) === value) found++;
  const getNs = Number(process.hrtime.bigint() - t1) / KEYS;
  if (found !== KEYS) throw new Error(`${Table.name}: found ${found} of ${KEYS}`);
  // check the rest of the API on the packed table: delete, reuse, iteration
  for (let i = 0; i < KEYS; i += 3) t.delete(`key:${i}`);
  let n = 0;
  for (const k of t.keys()) { if (Number(k.slice(4)) % 3 === 0) throw new Error('deleted key seen'); n++; }
  if (n !== KEYS - Math.ceil(KEYS / 3)) throw new Error(`${Table.name}: iterated ${n}`);
  for (let i = 0; i < KEYS; i += 3) t.set(`key:${i}`, value);
  for (let i = 0; i < KEYS; i++) if (t.get(`key:${i}`) !== value) throw new Error(`${Table.name}: key:${i} lost`);
  return { bytesPerKey: (after - before) / KEYS, setNs, getNs, keep: t };
}

const rows = { MapTable: [], PackedTable: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const T of r % 2 === 0 ? [MapTable, PackedTable] : [PackedTable, MapTable]) {
    const res = build(T);
    rows[T.name].push(res);
    res.keep = undefined;
    console.log(`round ${r + 1} ${T.name}: ${res.bytesPerKey.toFixed(1)} heap+external bytes per key; set ${res.setNs.toFixed(0)} ns, get ${res.getNs.toFixed(0)} ns per op`);
  }
}
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
console.log(`\n| table | bytes per key (heap used + external, after gc) | set ns/op | get ns/op |`);
console.log(`|---|---|---|---|`);
for (const [name, rs] of Object.entries(rows)) {
  console.log(`| ${name} | ${med(rs.map((x) => x.bytesPerKey)).toFixed(1)} (${Math.min(...rs.map((x) => x.bytesPerKey)).toFixed(1)}–${Math.max(...rs.map((x) => x.bytesPerKey)).toFixed(1)}) | ${med(rs.map((x) => x.setNs)).toFixed(0)} | ${med(rs.map((x) => x.getNs)).toFixed(0)} |`);
}
