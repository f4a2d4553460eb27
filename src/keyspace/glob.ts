/**
 * Redis's glob matcher (util.c stringmatchlen, 7.0.15), byte for byte.
 *
 * Supported: `*`, `?`, `[abc]`, `[^abc]`, ranges `[a-z]` (reversed ranges
 * are swapped), `\x` escapes inside and outside brackets, and the nocase
 * flag. The quirks are kept on purpose because KEYS and SCAN MATCH must
 * select the same keys as Redis:
 *  - bytes compare as C `char`, which is signed on x86: in a range, bytes
 *    >= 0x80 are negative (`[a-\xff]` is the range -1..97);
 *  - reading past the end of the pattern sees the sds NUL terminator, so an
 *    unterminated `[abc` matches like `[abc]`, and `[^` matches any byte;
 *  - a `\` escape inside brackets compares case-sensitively even with nocase;
 *  - the text after a star is only tried against non-empty remainders, and
 *    an empty string matches no pattern but the empty one ("*" and "**" do
 *    not match the empty key; KEYS and SCAN special-case a lone "*" before
 *    calling this, so only "**" and the like show it).
 *
 * Redis recurses once per `*`; after CVE-2022-36021 it stops as soon as the
 * text after the innermost star fails at every position (skipLongerMatches).
 * With that rule only the innermost star ever retries, so this version
 * backtracks to the last star in a loop: same answers, no recursion, linear
 * stack whatever the pattern.
 */

/** C tolower() in the C locale on a (possibly negative) char value. */
function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** A byte as a signed C char. */
function sc(c: number): number {
  return c >= 128 ? c - 256 : c;
}

/** True when `str` matches the glob `pattern` (both latin1 byte strings), as Redis's stringmatchlen. */
export function globMatch(pattern: string, str: string, nocase = false): boolean {
  const pl = pattern.length;
  const sl = str.length;
  const P = (i: number): number => (i < pl ? pattern.charCodeAt(i) : 0);
  let p = 0;
  let s = 0;
  let starP = -1; // pattern index just after the innermost star, -1 before any
  let starS = 0; // string index the text after that star is being tried at

  for (;;) {
    let ok = true;
    while (p < pl && s < sl) {
      const pc = pattern.charCodeAt(p);
      if (pc === 42 /* * */) {
        while (p < pl && P(p + 1) === 42) p++;
        if (pl - p === 1) return true;
        starP = p + 1;
        starS = s;
        p = starP;
        continue;
      }
      const c = str.charCodeAt(s);
      if (pc === 63 /* ? */) {
        s++;
      } else if (pc === 91 /* [ */) {
        p++;
        const not = P(p) === 94; /* ^ */
        if (not) p++;
        let match = false;
        for (;;) {
          const rem = pl - p;
          const q = P(p);
          if (q === 92 /* \ */ && rem >= 2) {
            p++;
            if (P(p) === c) match = true;
          } else if (q === 93 /* ] */) {
            break;
          } else if (rem <= 0) {
            p--;
            break;
          } else if (rem >= 3 && P(p + 1) === 45 /* - */) {
            let start = sc(q);
            let end = sc(P(p + 2));
            let x = sc(c);
            if (start > end) {
              const t = start;
              start = end;
              end = t;
            }
            if (nocase) {
              start = lower(start);
              end = lower(end);
              x = lower(x);
            }
            p += 2;
            if (x >= start && x <= end) match = true;
          } else if (!nocase) {
            if (q === c) match = true;
          } else if (lower(q) === lower(c)) {
            match = true;
          }
          p++;
        }
        if (not) match = !match;
        if (!match) {
          ok = false;
          break;
        }
        s++;
      } else {
        if (pc === 92 /* \ */ && pl - p >= 2) p++;
        const q = P(p);
        if (nocase ? lower(q) !== lower(c) : q !== c) {
          ok = false;
          break;
        }
        s++;
      }
      p++;
      if (s === sl) {
        while (P(p) === 42) p++;
        break;
      }
    }
    if (ok && p >= pl && s === sl) return true;
    // Failed: only the innermost star may try the rest one byte further.
    if (starP < 0) return false;
    starS++;
    if (starS >= sl) return false;
    p = starP;
    s = starS;
  }
}

/** Redis's name for the same function. */
export const stringMatch = globMatch;
