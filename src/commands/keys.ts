/**
 * The key arguments of a command, as Redis 7 finds them (db.c,
 * getKeysFromCommandWithSpecs): from COMMAND INFO's key specifications,
 * which also say what the command does to each key (COMMAND
 * GETKEYSANDFLAGS). Cluster routing, WATCH and COMMAND GETKEYS use them.
 */
import { string2ll } from '../util/number.js';
import type { CommandMeta, KeySpec } from './types.js';

export interface KeyRef {
  /** Index of the key in argv. */
  pos: number;
  /** The key spec's flags (RW, OW, access, update…), in Redis's order. */
  flags: readonly string[];
}

/**
 * Redis's getKeysUsingKeySpecs: the keys every spec finds, in spec order;
 * undefined when a spec cannot be applied to these arguments (a numkeys
 * that is not an integer, or more keys than arguments).
 */
function keysBySpecs(specs: readonly KeySpec[], argv: readonly string[]): KeyRef[] | undefined {
  const argc = argv.length;
  const out: KeyRef[] = [];
  for (const spec of specs) {
    if (spec.flags.includes('not_key')) continue;
    const f = spec.find;
    if (spec.index === 'unknown' || f.type === 'unknown') return undefined;
    let first = spec.index;
    if (spec.keyword !== undefined) {
      // KSPEC_BS_KEYWORD: the argument after the keyword; a spec whose keyword is absent finds nothing.
      const k = keywordSearch(spec.keyword.keyword, spec.keyword.startFrom, argv);
      if (k === 0) continue;
      first = k;
    }
    let last: number;
    if (f.type === 'range') {
      if (f.lastKey >= 0) last = first + f.lastKey;
      else if (f.limit === 0) last = argc + f.lastKey;
      else last = first + (Math.trunc((argc - first) / f.limit) + f.lastKey);
    } else {
      if (f.keyNumIdx >= argc - first) return undefined;
      const numkeys = string2ll(argv[first + f.keyNumIdx]!);
      if (numkeys === null || numkeys < 0) return undefined;
      first += f.firstKey;
      last = first + Number(numkeys) - 1;
    }
    if (last >= argc || last < first || first >= argc) return undefined;
    for (let i = first; i <= last; i += f.keyStep) out.push({ pos: i, flags: spec.flags });
  }
  return out;
}

/**
 * getKeysUsingKeySpecs' keyword search: the index after the first argument
 * equal to the keyword, scanning from startFrom towards the end (from the
 * end backwards when negative), the last argument excluded; 0 when absent.
 */
function keywordSearch(keyword: string, startFrom: number, argv: readonly string[]): number {
  const argc = argv.length;
  const start = startFrom > 0 ? startFrom : argc + startFrom;
  const end = startFrom > 0 ? argc - 1 : 0;
  for (let i = start, n = 0; i !== end && n <= argc; i = start <= end ? i + 1 : i - 1, n++) {
    if (i >= argc || i < 1) break;
    if (argv[i]!.toLowerCase() === keyword.toLowerCase()) return i + 1;
  }
  return 0;
}

/** C's atoi (what Redis's genericGetKeys reads numkeys with): leading blanks, a sign, digits; 0 otherwise. */
function atoi(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?[0-9]+)/.exec(s);
  return m === null ? 0 : Number(m[1]);
}

/**
 * When the specs fail, Redis falls back to the command's own getkeys
 * function. For the commands raftis implements whose keys move (the
 * numkeys ones) that is genericGetKeys: the numkeys keys after the count,
 * then the destination key if there is one, without flags; none when
 * numkeys (read by atoi) is not between 1 and the arguments left.
 */
function genericGetKeys(specs: readonly KeySpec[], argv: readonly string[]): KeyRef[] {
  const counted = specs.find((s) => s.find.type === 'keynum');
  if (counted === undefined || counted.find.type !== 'keynum' || counted.index === 'unknown') return [];
  const countOfs = counted.index + counted.find.keyNumIdx;
  const firstOfs = countOfs + counted.find.firstKey;
  const store = specs.find((s) => s !== counted && s.find.type === 'range');
  if (countOfs >= argv.length) return [];
  const num = atoi(argv[countOfs]!);
  if (num < 1 || num > argv.length - firstOfs) return [];
  const out: KeyRef[] = [];
  for (let i = 0; i < num; i++) out.push({ pos: firstOfs + i, flags: [] });
  if (store !== undefined && store.index !== 'unknown') out.push({ pos: store.index, flags: [] });
  return out;
}

/** SORT: the key sorted, and the last STORE's key (Redis's sortGetKeys, skipping LIMIT's, GET's and BY's arguments). */
function sortGetKeys(argv: readonly string[]): KeyRef[] {
  const out: KeyRef[] = [{ pos: 1, flags: ['RO', 'access'] }];
  let store = -1;
  const skip: Record<string, number> = { limit: 2, get: 1, by: 1 };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!.toLowerCase();
    if (a in skip) i += skip[a]!;
    else if (a === 'store' && i + 1 < argv.length) store = i + 1;
  }
  if (store >= 0) out.push({ pos: store, flags: ['OW', 'update'] });
  return out;
}

/** SET: OW update, or RW access update with the GET option (Redis's setGetKeys). */
function setKeyFlags(argv: readonly string[]): readonly string[] {
  for (let i = 3; i < argv.length; i++) if (argv[i]!.toLowerCase() === 'get') return ['RW', 'access', 'update'];
  return ['OW', 'update'];
}

/** BITFIELD: RO access if it only GETs, else RW access update (Redis's bitfieldGetKeys). */
function bitfieldKeyFlags(argv: readonly string[]): readonly string[] {
  const argc = argv.length;
  for (let i = 2; i < argc; i++) {
    const remaining = argc - i - 1;
    const arg = argv[i]!.toLowerCase();
    if (arg === 'get' && remaining >= 2) i += 2;
    else if ((arg === 'set' || arg === 'incrby') && remaining >= 3) return ['RW', 'access', 'update'];
    else if (arg === 'overflow' && remaining >= 1) i += 1;
    else return ['RW', 'access', 'update'];
  }
  return ['RO', 'access'];
}

/**
 * The commands whose own getkeys function Redis prefers to their specs:
 * flags that depend on the arguments (specs flagged variable_flags: SET,
 * BITFIELD), or keys the specs cannot describe (SORT's STORE key can be
 * anywhere and BY/GET keys are data: specs "unknown").
 */
const OWN_GETKEYS: Record<string, (argv: readonly string[]) => KeyRef[]> = {
  set: (argv) => [{ pos: 1, flags: setKeyFlags(argv) }],
  bitfield: (argv) => [{ pos: 1, flags: bitfieldKeyFlags(argv) }],
  sort: sortGetKeys,
  sort_ro: () => [{ pos: 1, flags: ['RO', 'access'] }],
};

/**
 * Every key of the command with its flags, as COMMAND GETKEYSANDFLAGS
 * lists them. Callers have checked the arity.
 */
export function commandKeyRefs(meta: CommandMeta, argv: readonly string[]): KeyRef[] {
  const own = OWN_GETKEYS[meta.name];
  if (own !== undefined) return own(argv);
  return keysBySpecs(meta.keySpecs, argv) ?? genericGetKeys(meta.keySpecs, argv);
}

/**
 * The key arguments of a command (cluster routing, WATCH). Most commands
 * (CommandMeta.rangeKeys) take them from COMMAND INFO's first/last/step,
 * which their specs agree with; the others from the specs.
 */
export function commandKeys(meta: CommandMeta, argv: readonly string[]): string[] {
  if (meta.rangeKeys) {
    if (meta.firstKey <= 0) return [];
    const last = meta.lastKey < 0 ? argv.length + meta.lastKey : meta.lastKey;
    const keys: string[] = [];
    for (let i = meta.firstKey; i <= last && i < argv.length; i += Math.max(1, meta.step)) keys.push(argv[i]!);
    return keys;
  }
  return commandKeyRefs(meta, argv).map((k) => argv[k.pos]!);
}
