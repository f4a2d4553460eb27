/**
 * Picking members by position for SPOP, SRANDMEMBER and HRANDFIELD, without
 * walking the collection when few are wanted (Redis's cases 3 and 4 of
 * srandmemberWithCountCommand).
 */

/** `count` distinct positions in [0, size), count < size, in random order. */
export function distinctPositions(size: number, count: number, rand: () => number): number[] {
  if (count * 3 > size) {
    // Many of them: a partial Fisher-Yates shuffle of all positions.
    const all = new Array<number>(size);
    for (let i = 0; i < size; i++) all[i] = i;
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(rand() * (size - i));
      const t = all[i]!;
      all[i] = all[j]!;
      all[j] = t;
    }
    all.length = count;
    return all;
  }
  // Few of them: draw until there are enough distinct ones.
  const seen = new Set<number>();
  const out: number[] = [];
  while (out.length < count) {
    const p = Math.floor(rand() * size);
    if (seen.has(p)) continue;
    seen.add(p);
    out.push(p);
  }
  return out;
}
