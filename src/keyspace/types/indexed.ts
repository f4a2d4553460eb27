/**
 * Members kept in an array plus a Map from member to its position: O(1)
 * add, delete (swap with the last one) and pick by position, which is what
 * SPOP, SRANDMEMBER and HRANDFIELD need without walking the collection.
 *
 * Two orders are kept, both deterministic in the sequence of operations:
 * the array order (what a position means: SPOP picks by it, so replicas
 * that applied the same entries pick the same member) and the Map's
 * insertion order (a live iterator for SSCAN/HSCAN, and what Redis's
 * listpack order looks like for small hashes: insertion order with deleted
 * fields removed).
 */
export class IndexedMembers {
  readonly members: string[] = [];
  readonly pos = new Map<string, number>();

  get size(): number {
    return this.members.length;
  }

  has(m: string): boolean {
    return this.pos.has(m);
  }

  indexOf(m: string): number | undefined {
    return this.pos.get(m);
  }

  /** Appends a member known to be absent; returns its position. */
  push(m: string): number {
    const i = this.members.length;
    this.members.push(m);
    this.pos.set(m, i);
    return i;
  }

  /**
   * Removes the member at position i by moving the last member into its
   * place; returns the position that was vacated at the end (the caller
   * moves any parallel array the same way).
   */
  removeAt(i: number): number {
    const last = this.members.length - 1;
    const m = this.members[i]!;
    if (i !== last) {
      const moved = this.members[last]!;
      this.members[i] = moved;
      this.pos.set(moved, i);
    }
    this.members.pop();
    this.pos.delete(m);
    return last;
  }

  copyInto(other: IndexedMembers): void {
    for (const m of this.members) other.members.push(m);
    for (const [m, i] of this.pos) other.pos.set(m, i);
  }
}
