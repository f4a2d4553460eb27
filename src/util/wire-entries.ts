/**
 * Entries that arrived from a peer, and the bytes they arrived as: so that
 * a follower writes a received append's entries to its log with one copy of
 * those bytes rather than encoding every entry again (issue 19, walsec;
 * docs/log-format.md, record type 6).
 *
 * The transport (codec.ts, decoding a MsgApp) notes each message's entries
 * together with the byte range of the frame body that holds them, in the
 * peer protocol's Entry layout (docs/peer-protocol.md: type u8 · index
 * varint · term varint · data length varint · data, back to back). The log
 * (storage/wal/segment-log.ts) looks a write's entries up here by their
 * first entry, object identity: the Raft core hands the very Entry objects
 * it was given to the write (it may keep only some of them: then they are
 * not a whole noted run, and the log encodes them as before).
 *
 * A leaf module (util) because the transport and storage may not import
 * each other (test/unit/architecture). The last RUNS runs noted are kept
 * in a ring, and a run is taken out when a write uses it: the runs of the
 * appends a follower is stepping live a turn or two (a run not taken, e.g.
 * an append whose entries were all present, is dropped when its slot is
 * reused). Not a WeakMap keyed by the entries: under a follower's load its
 * ephemerons made every scavenge keep and promote them (bench/results/walsec.md).
 */

/** The entries of one received message and where they are on the wire. */
export interface WireRun {
  /** The decoded entries, in order (the objects the Raft core is given). */
  readonly entries: readonly object[];
  /** The frame body holding them. */
  readonly buf: Buffer;
  /** buf[start, end): exactly the entries, in the peer protocol's Entry layout (no count before them). */
  readonly start: number;
  readonly end: number;
}

/** Runs kept (a power of two): more appends than this stepped before one write are written encoded. */
export const RUNS = 64;
const ring: (WireRun | undefined)[] = new Array<WireRun | undefined>(RUNS).fill(undefined);
let next = 0;
/** Slots holding a run (a leader, which notes none, looks at no slot). */
let live = 0;

/** Notes a received message's entries (at least one) and their bytes. */
export function noteWireRun(run: WireRun): void {
  if (ring[next] === undefined) live++;
  ring[next] = run;
  next = (next + 1) & (RUNS - 1);
}

/** Takes out the run whose first entry is `first`, if one is noted. */
export function takeWireRun(first: object): WireRun | undefined {
  if (live === 0) return undefined;
  // Newest first: a write's runs were noted last.
  for (let i = 1, k = next; i <= RUNS; i++) {
    k = (k - 1) & (RUNS - 1);
    const r = ring[k];
    if (r !== undefined && r.entries[0] === first) {
      ring[k] = undefined;
      live--;
      return r;
    }
  }
  return undefined;
}
