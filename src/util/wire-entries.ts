/**
 * Entries that arrived from a peer, and the bytes they arrived as: so that
 * a follower writes a received append's entries to its log with one copy of
 * those bytes rather than encoding every entry again (issue 19, walsec;
 * docs/log-format.md, record type 6).
 *
 * The transport (codec.ts, decoding a MsgApp; transport.ts, encoding one for
 * the followers on a leader, whose own write follows) notes each message's entries
 * together with the byte range of the frame body that holds them, in the
 * peer protocol's Entry layout (docs/peer-protocol.md: type u8 · index
 * varint · term varint · data length varint · data, back to back). The log
 * (storage/wal/segment-log.ts) looks a write's entries up here by their
 * first entry, object identity: the Raft core hands the very Entry objects
 * it was given to the write (it may keep only some of them: then they are
 * not a whole noted run, and the log encodes them as before).
 *
 * A leaf module (util) because the transport and storage may not import
 * each other (test/unit/architecture). Runs are kept in a queue, in the
 * order they arrived, which is the order a follower writes them: a write
 * takes its runs from the front, and drops any noted before them that no
 * write took (an append whose entries were all present, or whose first
 * ones were: the core kept only a part). So the queue holds the appends a
 * follower has stepped and not yet written, a turn or two, at most RUNS of
 * them (more, and the oldest are dropped and written encoded). One queue
 * per process: with several nodes in one process (tests), one node's write
 * may drop another's runs, which are then written encoded (still right:
 * runs are matched by object identity, never by index). Not a
 * WeakMap keyed by the entries: under a follower's load its ephemerons made
 * every scavenge keep and promote them (bench/results/walsec.md).
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

/**
 * Runs kept (a power of two), as many as a slow follower may step before
 * one write: a leader keeps up to 256 appends in flight to it (raft
 * config maxInflightMsgs), and a follower under valgrind reads many at once.
 */
export const RUNS = 1024;
const queue: (WireRun | undefined)[] = new Array<WireRun | undefined>(RUNS).fill(undefined);
/** The queue is slots [head, tail) modulo RUNS; tail - head runs. */
let head = 0;
let tail = 0;

/** Notes a received message's entries (at least one) and their bytes. */
export function noteWireRun(run: WireRun): void {
  if (tail - head === RUNS) queue[head++ & (RUNS - 1)] = undefined;
  queue[tail++ & (RUNS - 1)] = run;
}

/** Takes out the run whose first entry is `first`, if one is noted, and every run noted before it. */
export function takeWireRun(first: object): WireRun | undefined {
  for (let i = head; i < tail; i++) {
    const r = queue[i & (RUNS - 1)]!;
    if (r.entries[0] === first) {
      while (head <= i) queue[head++ & (RUNS - 1)] = undefined;
      if (head === tail) head = tail = 0;
      return r;
    }
  }
  return undefined;
}
