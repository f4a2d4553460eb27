/**
 * Option-word matching as Redis does it: strcasecmp (or the hand-written
 * `opt[0] == 'n' || opt[0] == 'N'` tests) on the C string, i.e. ASCII case
 * folding and comparison up to the argument's first NUL byte, so "nx\0junk"
 * is NX, exactly as redis-server sees it.
 */

/** True when arg equals `name` (lower-case ASCII) the way strcasecmp(arg, name) == 0 decides. */
export function isOpt(arg: string, name: string): boolean {
  const n = name.length;
  if (arg.length !== n && (arg.length < n || arg.charCodeAt(n) !== 0)) return false;
  for (let i = 0; i < n; i++) {
    let c = arg.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== name.charCodeAt(i)) return false;
  }
  return true;
}
