/**
 * Gives memory back once the server goes quiet after a burst of work.
 *
 * Under load, V8 promotes the objects of every request still waiting for
 * its fsync (argv strings, log entries) to the old generation, where they
 * die; it collects them only when the heap has grown by a large factor. So
 * after loading 1M keys the heap held 259 MB of which 106 MB were live, and
 * the process kept that RSS while idle. Redis frees as it goes; this is the
 * nearest equivalent: when nothing has happened for `idleMs` and the heap
 * grew (used heap plus external memory) by at least `growthBytes` since the last collection here, run a
 * full collection twice (a pause of about 0.1 s per 100 MB live each, taken
 * only while no client is waiting) and let V8 release the pages; and once
 * more if the node stays idle for `shrinkAfterMs`, when V8 also shrinks its
 * young generation (it does so only after 5 s of low allocation).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { createLogger } from './log.js';

const log = createLogger('memory');

export interface IdleGcOptions {
  /** How long nothing must happen before collecting. */
  idleMs?: number;
  /** Minimum heap growth since the last collection here that is worth one. */
  growthBytes?: number;
  /**
   * How long the node must stay idle after that collection for one more,
   * which also shrinks V8's young generation: V8 shrinks it only when a
   * collection sees a low allocation rate over its last 5 s, so this must
   * be longer than that (about 30 MB of RSS after a burst; docs/decisions.md).
   */
  shrinkAfterMs?: number;
}

/** V8's gc(), made available without --expose-gc; undefined if this V8 refuses. */
function exposeGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  try {
    v8.setFlagsFromString('--expose-gc');
    const fn = vm.runInNewContext('gc') as unknown;
    return typeof fn === 'function' ? (fn as () => void) : undefined;
  } catch {
    return undefined;
  }
}

export class IdleGc {
  private readonly gc = exposeGc();
  private readonly idleMs: number;
  private readonly growthBytes: number;
  private timer: NodeJS.Timeout | undefined;
  private lastActivity = -1;
  private busySinceGc = false;
  private usedAfterGc = heldBytes();
  private readonly shrinkAfterChecks: number;
  /** Idle looks since the collection, while the shrinking one is still due (-1: none due). */
  private idleSinceGc = -1;
  /** Collections run so far. */
  runs = 0;

  /** `activity` must change whenever the server did work (commands run, entries applied). */
  constructor(
    private readonly activity: () => number,
    opts: IdleGcOptions = {},
  ) {
    this.idleMs = opts.idleMs ?? 1000;
    this.growthBytes = opts.growthBytes ?? 32 * 1024 * 1024;
    this.shrinkAfterChecks = Math.max(1, Math.ceil((opts.shrinkAfterMs ?? 6000) / this.idleMs));
  }

  start(): void {
    if (this.gc === undefined || this.timer !== undefined) return;
    this.timer = setInterval(() => this.check(), this.idleMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * One look (every idleMs): collects if the last interval was idle after a
   * busy one and the heap grew; once more after shrinkAfterMs of idleness
   * that followed such a collection.
   */
  check(): boolean {
    const now = this.activity();
    if (now !== this.lastActivity) {
      this.lastActivity = now;
      this.busySinceGc = true;
      // Work meanwhile: the shrinking collection, if due, waits for a whole quiet spell again.
      if (this.idleSinceGc > 0) this.idleSinceGc = 0;
      return false;
    }
    if (this.gc === undefined) return false;
    if (!this.busySinceGc) {
      // Still idle after the collection: once long enough, the one that shrinks the young generation.
      if (this.idleSinceGc < 0 || ++this.idleSinceGc < this.shrinkAfterChecks) return false;
      this.idleSinceGc = -1;
      this.collect('the young generation shrunk', () => this.gc!());
      return true;
    }
    this.busySinceGc = false;
    if (heldBytes() - this.usedAfterGc < this.growthBytes) {
      if (this.idleSinceGc >= 0) this.idleSinceGc++;
      return false;
    }
    // Twice: the first collection frees the load's garbage, the second
    // gives back the pages the first one left behind (5–40 MB of RSS after
    // loading 1M keys; bench/results/memory.md).
    const gc = this.gc;
    this.collect('idle', () => {
      gc();
      gc();
    });
    this.idleSinceGc = 0;
    return true;
  }

  private collect(why: string, run: () => void): void {
    const used = v8.getHeapStatistics().used_heap_size;
    const started = performance.now();
    run();
    this.usedAfterGc = heldBytes();
    this.runs++;
    log.debug(`${why}: collected the heap from ${mb(used)} to ${mb(this.usedAfterGc)} in ${(performance.now() - started).toFixed(0)} ms`);
  }
}

/**
 * The V8 heap in use plus external memory (ArrayBuffers): the keyspace
 * keeps its keys and short values in typed arrays (keyspace/key-table.ts),
 * so a load that adds 1M keys grows the external memory by ~50 MB and the
 * heap by less than the threshold, and its garbage (argv strings, entry
 * Buffers, promoted under load) went uncollected in some runs.
 */
function heldBytes(): number {
  const h = v8.getHeapStatistics();
  return h.used_heap_size + h.external_memory;
}

function mb(n: number): string {
  return `${(n / 1048576).toFixed(0)} MB`;
}
