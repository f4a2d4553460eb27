/**
 * The state machine's own state in a snapshot (the snapshot file's opaque
 * appState), beside the keyspace: named sections, each the bytes of one
 * part's snapshotState() (the script cache, the cluster-wide configuration).
 *
 *   "RFAS" u8 version(1) u32 count, then per section:
 *   u8 name length, name (ASCII), u32 length, bytes
 *
 * Snapshots written before sections existed hold the script cache's bytes
 * alone (they begin with its u32 script count, never "RFAS" in practice:
 * that would be 1.4 billion scripts): read as the one section "scripts".
 * A reader skips sections it does not know (a part added by a later build).
 */
const MAGIC = Buffer.from('RFAS', 'latin1');
const VERSION = 1;

export function writeAppState(sections: ReadonlyMap<string, Buffer>): Buffer {
  let size = MAGIC.length + 1 + 4;
  for (const [name, b] of sections) size += 1 + Buffer.byteLength(name, 'latin1') + 4 + b.length;
  const out = Buffer.allocUnsafe(size);
  MAGIC.copy(out, 0);
  out[4] = VERSION;
  out.writeUInt32LE(sections.size, 5);
  let at = 9;
  for (const [name, b] of sections) {
    const n = out.write(name, at + 1, 'latin1');
    out[at] = n;
    at += 1 + n;
    out.writeUInt32LE(b.length, at);
    b.copy(out, at + 4);
    at += 4 + b.length;
  }
  return out;
}

export function readAppState(state: Buffer): Map<string, Buffer> {
  const sections = new Map<string, Buffer>();
  if (state.length < 9 || !state.subarray(0, 4).equals(MAGIC)) {
    if (state.length > 0) sections.set('scripts', state);
    return sections;
  }
  if (state[4] !== VERSION) throw new Error(`snapshot app state version ${state[4]} is newer than this build reads (${VERSION}); upgrade raftis`);
  const count = state.readUInt32LE(5);
  let at = 9;
  for (let i = 0; i < count; i++) {
    if (at + 1 > state.length) throw new Error(`snapshot app state truncated at byte ${at}`);
    const n = state[at]!;
    const name = state.toString('latin1', at + 1, at + 1 + n);
    at += 1 + n;
    if (at + 4 > state.length) throw new Error(`snapshot app state truncated at byte ${at}`);
    const len = state.readUInt32LE(at);
    if (at + 4 + len > state.length) throw new Error(`snapshot app state section ${name} truncated`);
    sections.set(name, state.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return sections;
}
