/**
 * Whether a script without a shebang provably never writes, read from its
 * source: then an EVALSHA of it (or an EVAL of a cached body) takes the read
 * path like a `no-writes` script instead of costing a log entry. Most read
 * scripts in the wild have no shebang (ioredis defineCommand, queue
 * libraries' getters), and a log entry per read costs an fsync.
 *
 * Conservative: the answer is yes only when every mention of `redis` is
 * `redis.<name>` and every `redis.call(` / `redis.pcall(` names, as a string
 * literal, a command that is not a write (nor may replicate), and nothing can
 * reach the global table another way (loadstring, getfenv, _G, rawget,
 * debug…). An alias (`local rcall = redis.call`) or a computed command name
 * answers no. A script judged read-only still runs as a read-only script, so
 * a write it attempted would be refused, never applied on one node only.
 */

/** Identifiers that can reach `redis` (or run code) without naming it. */
const ESCAPES: ReadonlySet<string> = new Set(['loadstring', 'load', 'getfenv', 'setfenv', '_G', 'rawget', 'rawset', 'dofile', 'loadfile', 'require', 'module', 'debug']);

type Token = { kind: 'name' | 'string' | 'op'; text: string };

/** The level of a long bracket `[==[` at i (-1 if none). */
function longBracket(s: string, i: number): number {
  if (s[i] !== '[') return -1;
  let j = i + 1;
  while (s[j] === '=') j++;
  return s[j] === '[' ? j - i - 1 : -1;
}

/** Lua 5.1's tokens, without numbers' values or keywords' meaning: enough to follow `redis.call("NAME"`. */
function tokenize(s: string): Token[] | undefined {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') {
      i++;
    } else if (c === '-' && s[i + 1] === '-') {
      const level = longBracket(s, i + 2);
      if (level >= 0) {
        const end = s.indexOf(']' + '='.repeat(level) + ']', i + 4 + level);
        if (end < 0) return undefined;
        i = end + level + 2;
      } else {
        const nl = s.indexOf('\n', i);
        i = nl < 0 ? s.length : nl + 1;
      }
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let text = '';
      for (; j < s.length && s[j] !== c; j++) {
        if (s[j] === '\\') {
          // Escapes: keep the escaped character (enough to compare command names).
          j++;
          text += s[j] ?? '';
        } else if (s[j] === '\n') {
          return undefined;
        } else {
          text += s[j];
        }
      }
      if (j >= s.length) return undefined;
      out.push({ kind: 'string', text });
      i = j + 1;
    } else if (longBracket(s, i) >= 0) {
      const level = longBracket(s, i);
      const close = ']' + '='.repeat(level) + ']';
      const end = s.indexOf(close, i + level + 2);
      if (end < 0) return undefined;
      out.push({ kind: 'string', text: s.slice(i + level + 2, end) });
      i = end + close.length;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < s.length && /[A-Za-z0-9_]/.test(s[j]!)) j++;
      out.push({ kind: 'name', text: s.slice(i, j) });
      i = j;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(s[i + 1] ?? ''))) {
      let j = i + 1;
      while (j < s.length && /[0-9A-Za-z_.]/.test(s[j]!)) {
        if ((s[j] === 'e' || s[j] === 'E') && (s[j + 1] === '+' || s[j + 1] === '-')) j++;
        j++;
      }
      out.push({ kind: 'op', text: '0' });
      i = j;
    } else if (c === '.') {
      const three = s.startsWith('...', i);
      const two = !three && s[i + 1] === '.';
      const len = three ? 3 : two ? 2 : 1;
      out.push({ kind: 'op', text: s.slice(i, i + len) });
      i += len;
    } else {
      out.push({ kind: 'op', text: c });
      i++;
    }
  }
  return out;
}

/**
 * True when the body (without its shebang line) provably never runs a
 * command for which `mayWrite(name)` is true; `mayWrite` answers true for
 * unknown names.
 */
export function provablyReadOnly(body: string, mayWrite: (name: string) => boolean): boolean {
  const t = tokenize(body);
  if (t === undefined) return false;
  for (let i = 0; i < t.length; i++) {
    const tok = t[i]!;
    if (tok.kind !== 'name') continue;
    // A field named like a global (x.redis, x.load) is not the global.
    const field = i > 0 && (t[i - 1]!.text === '.' || t[i - 1]!.text === ':');
    if (field) continue;
    if (ESCAPES.has(tok.text)) return false;
    if (tok.text !== 'redis') continue;
    if (t[i + 1]?.text !== '.' || t[i + 2]?.kind !== 'name') return false;
    const fn = t[i + 2]!.text;
    if (fn !== 'call' && fn !== 'pcall') continue;
    const name = t[i + 4];
    if (t[i + 3]?.text !== '(' || name?.kind !== 'string' || (t[i + 5]?.text !== ',' && t[i + 5]?.text !== ')')) return false;
    if (mayWrite(name.text.toLowerCase())) return false;
  }
  return true;
}
