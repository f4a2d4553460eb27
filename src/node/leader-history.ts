/**
 * The leader changes this node observed (the cluster page): a small ring of
 * (wall-clock time, term, leader id), newest last. Only this node's view —
 * the page merges every node's ring, so a change one node missed while it
 * was cut off still shows from the others.
 */
export interface LeaderChange {
  /** Wall-clock ms when this node learned of the leader (Date.now()). */
  time: number;
  term: number;
  /** The new leader's id. */
  leader: number;
}

export class LeaderHistory {
  private readonly ring: LeaderChange[] = [];
  private lastTerm = 0;
  private lastLeader = 0;

  constructor(private readonly capacity = 32) {}

  /**
   * The core's leader is now `leader` in `term`. No leader (0, an election
   * running) is not a change: the next leader will be.
   */
  observe(time: number, term: number, leader: number): void {
    if (leader === 0 || (leader === this.lastLeader && term === this.lastTerm)) return;
    this.lastLeader = leader;
    this.lastTerm = term;
    this.ring.push({ time, term, leader });
    if (this.ring.length > this.capacity) this.ring.shift();
  }

  /** Oldest first; a copy. */
  list(): LeaderChange[] {
    return this.ring.slice();
  }
}
