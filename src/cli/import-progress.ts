/**
 * `raftis import`'s progress bar: one line on stderr, redrawn in place
 * (`\r`, then erase to the end of the line) a few times a second, with the
 * share of the source's keys done, the rate and the time left:
 *
 *   [##############----------------]  47%  470000/1000000 keys  35120 keys/s  ETA 15 s
 *
 * Shown when stderr is a terminal (or with --progress), never with --quiet:
 * output that goes to a file or a pipe gets only the summary at the end.
 */

const REDRAW_MS = 200;
const MIN_BAR = 10;
const MAX_BAR = 40;

export interface ProgressStream {
  write(s: string): unknown;
  columns?: number;
}

export class ImportProgress {
  private timer: ReturnType<typeof setInterval> | undefined;
  private total: number | undefined;
  private readonly started = Date.now();
  private shown = false;

  /** `done` reads how many of the source's keys are dealt with (imported, skipped or refused). */
  constructor(
    private readonly out: ProgressStream,
    private readonly done: () => number,
  ) {}

  /** Starts redrawing; `total` is the number of keys to go through, when known. */
  start(total: number | undefined): void {
    this.total = total;
    this.draw();
    this.timer = setInterval(() => this.draw(), REDRAW_MS);
    this.timer.unref?.();
  }

  /** Draws the last state and ends the line (the summary or an error follows on a line of its own). */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.shown) return;
    this.draw();
    this.out.write('\n');
  }

  /** The line for `done` keys after `ms` milliseconds (exported for tests through the class). */
  line(done: number, ms: number): string {
    const rate = ms > 0 ? Math.round((done * 1000) / ms) : 0;
    const total = this.total;
    if (total === undefined || total <= 0) return `${done} keys  ${rate} keys/s`;
    const shown = Math.min(done, total);
    const frac = shown / total;
    const cols = this.out.columns || 80;
    const width = Math.max(MIN_BAR, Math.min(MAX_BAR, cols - 60));
    const filled = Math.floor(frac * width);
    const pct = String(Math.floor(frac * 100)).padStart(3);
    const eta = rate > 0 && shown < total ? `  ETA ${Math.ceil((total - shown) / rate)} s` : '';
    return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${pct}%  ${shown}/${total} keys  ${rate} keys/s${eta}`;
  }

  private draw(): void {
    this.shown = true;
    this.out.write(`\r${this.line(this.done(), Date.now() - this.started)}\x1b[K`);
  }
}
