/**
 * Redis's serverCron for raftis: the periodic work that runs `hz` times a
 * second — the active expiry cycle (expire.ts, on the leader) and the save
 * points (the node's snapshot policy). `hz` is CONFIG SET hz (kept within
 * 1..500 as Redis keeps it); with dynamic-hz, as in Redis, it doubles
 * while there are more than 200 clients per tick, up to 500. The timer is
 * restarted with the new period when either changes.
 */

/** MAX_CLIENTS_PER_CLOCK_TICK */
const CLIENTS_PER_TICK = 200;
/** CONFIG_MAX_HZ */
const MAX_HZ = 500;

export class ServerCron {
  /** CONFIG GET hz (INFO configured_hz). */
  configHz = 10;
  /** dynamic-hz. */
  dynamic = true;
  /** The frequency the cron runs at now (INFO hz). */
  hz = 10;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    /** The work of one tick. */
    private readonly tick: () => void,
    /** The number of connected clients (dynamic-hz). */
    private readonly clients: () => number,
  ) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.hz = this.effectiveHz();
    this.timer = setInterval(() => this.run(), Math.max(1, Math.round(1000 / this.hz)));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** hz or dynamic-hz changed (CONFIG SET), or the number of clients: runs at the new frequency from now. */
  update(): void {
    const hz = this.effectiveHz();
    if (hz === this.hz) return;
    this.hz = hz;
    if (this.timer === undefined) return;
    this.stop();
    this.start();
  }

  private run(): void {
    this.tick();
    if (this.dynamic) this.update();
  }

  /** serverCron's server.hz: config_hz, doubled while clients / hz > 200 (integer division), at most 500. */
  private effectiveHz(): number {
    let hz = this.configHz;
    if (!this.dynamic) return hz;
    const n = this.clients();
    while (Math.floor(n / hz) > CLIENTS_PER_TICK) {
      hz *= 2;
      if (hz > MAX_HZ) return MAX_HZ;
    }
    return hz;
  }
}
