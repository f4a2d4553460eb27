/**
 * sdssplitargs (Redis's sds.c): how redis.conf lines, redis-cli input and
 * multi-argument config values are split into arguments. A leaf module: the
 * config file reader (cli/) and the Config store (commands/engine/) share it.
 */
const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);
const isHex = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
const hexVal = (c: number): number => (c <= 57 ? c - 48 : (c | 32) - 87);

/**
 * sdssplitargs (sds.c) on a latin1 string (one char per byte): the
 * arguments, or null for unbalanced quotes or a closing quote followed by
 * something other than a space.
 */
export function splitArgs(line: string): string[] | null {
  const out: string[] = [];
  let p = 0;
  const n = line.length;
  const at = (i: number): number => (i < n ? line.charCodeAt(i) : 0);
  for (;;) {
    while (p < n && isSpace(at(p))) p++;
    if (p >= n) return out;
    let cur = '';
    let inq = false;
    let insq = false;
    let done = false;
    while (!done) {
      const c = at(p);
      if (inq) {
        if (c === 92 && at(p + 1) === 120 && isHex(at(p + 2)) && isHex(at(p + 3))) {
          cur += String.fromCharCode(hexVal(at(p + 2)) * 16 + hexVal(at(p + 3)));
          p += 3;
        } else if (c === 92 && p + 1 < n) {
          p++;
          const e = at(p);
          cur += e === 110 ? '\n' : e === 114 ? '\r' : e === 116 ? '\t' : e === 98 ? '\b' : e === 97 ? '\x07' : line[p]!;
        } else if (c === 34) {
          if (p + 1 < n && !isSpace(at(p + 1))) return null;
          done = true;
        } else if (p >= n) {
          return null;
        } else {
          cur += line[p]!;
        }
      } else if (insq) {
        if (c === 92 && at(p + 1) === 39) {
          p++;
          cur += "'";
        } else if (c === 39) {
          if (p + 1 < n && !isSpace(at(p + 1))) return null;
          done = true;
        } else if (p >= n) {
          return null;
        } else {
          cur += line[p]!;
        }
      } else if (c === 32 || c === 10 || c === 13 || c === 9 || p >= n) {
        done = true;
      } else if (c === 34) {
        inq = true;
      } else if (c === 39) {
        insq = true;
      } else {
        cur += line[p]!;
      }
      if (p < n) p++;
    }
    out.push(cur);
  }
}

