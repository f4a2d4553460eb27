/**
 * COMMAND and its subcommands (Redis's commandCommand & co. in server.c):
 * COUNT, INFO, DOCS, LIST, GETKEYS, GETKEYSANDFLAGS, HELP. All answered from
 * the command table (generated from redis-server, see generated-table.ts);
 * none is replicated.
 */
import { ERR, ERR_CONN } from './errors.js';
import { writeTree } from './generated-table.js';
import { writeHelp } from './help.js';
import { commandKeyRefs } from './keys.js';
import { stringMatch as globMatch } from '../keyspace/glob.js';
import type { CommandDef, ConnHandler, ConnCtx } from './table.js';

function commandAll({ c, w }: ConnCtx, _argv: string[]): void {
  const table = c.server.table;
  w.arrayHeader(table.size);
  for (const d of table.all()) writeTree(w, d.info);
}

function commandInfo(ctx: ConnCtx, argv: string[]): void {
  const { c, w } = ctx;
  if (argv.length === 2) return commandAll(ctx, argv);
  w.arrayHeader(argv.length - 2);
  for (let i = 2; i < argv.length; i++) {
    const d = c.server.table.get(argv[i]!);
    if (d) writeTree(w, d.info);
    else w.nil();
  }
}

function commandDocs({ c, w }: ConnCtx, argv: string[]): void {
  const table = c.server.table;
  const defs: CommandDef[] = [];
  if (argv.length === 2) defs.push(...table.all());
  else
    for (let i = 2; i < argv.length; i++) {
      const d = table.get(argv[i]!);
      if (d) defs.push(d);
    }
  w.mapHeader(defs.length);
  for (const d of defs) {
    w.bulk(d.name);
    writeTree(w, d.docs ?? { map: [] });
  }
}

/** COMMAND LIST [FILTERBY MODULE|ACLCAT|PATTERN x]: every command and subcommand (container|sub), as Redis lists them. */
function commandList({ c, w }: ConnCtx, argv: string[]): void {
  let keep: (d: CommandDef) => boolean = () => true;
  if (argv.length > 2) {
    if (argv.length !== 5 || argv[2]!.toLowerCase() !== 'filterby') return w.error(ERR.syntax);
    const kind = argv[3]!.toLowerCase();
    const arg = argv[4]!;
    if (kind === 'pattern') {
      keep = (d) => globMatch(arg, d.meta.name, true);
    } else if (kind === 'aclcat') {
      const cat = `@${arg.toLowerCase()}`;
      keep = (d) => ((d.info[6] as { set: { s: string }[] } | undefined)?.set ?? []).some((x) => x.s === cat);
    } else if (kind === 'module') {
      keep = () => false;
    } else {
      return w.error(ERR.syntax);
    }
  }
  w.bulkArray([...c.server.table.withSubcommands()].filter(keep).map((d) => d.meta.name));
}

/** COMMAND GETKEYS / GETKEYSANDFLAGS (Redis's getKeysSubcommandImpl). */
function commandGetkeys({ c, w }: ConnCtx, argv: string[]): void {
  const sub = argv.slice(2);
  const def = c.server.table.lookup(sub);
  if (!def) return w.error(ERR_CONN.getkeysInvalidCommand);
  const meta = def.meta;
  if (!meta.keySpecs.some((s) => !s.flags.includes('not_key'))) return w.error(ERR_CONN.getkeysNoKeys);
  const arity = meta.arity;
  if ((arity > 0 && sub.length !== arity) || sub.length < -arity) return w.error(ERR_CONN.getkeysInvalidArgs);
  const keys = commandKeyRefs(meta, sub);
  if (keys.length === 0) {
    if (meta.flags.has('no_mandatory_keys')) return w.arrayHeader(0);
    return w.error(ERR_CONN.getkeysBadArgs);
  }
  const withFlags = argv[1]!.toLowerCase() === 'getkeysandflags';
  w.arrayHeader(keys.length);
  for (const k of keys) {
    if (!withFlags) {
      w.bulk(sub[k.pos]!);
      continue;
    }
    w.arrayHeader(2);
    w.bulk(sub[k.pos]!);
    w.setHeader(k.flags.length);
    for (const f of k.flags) w.simple(f);
  }
}

export const commandCommands: Record<string, ConnHandler> = {
  command: commandAll,
  'command|count': ({ c, w }, _argv) => w.int(c.server.table.size),
  'command|info': commandInfo,
  'command|docs': commandDocs,
  'command|list': commandList,
  'command|getkeys': commandGetkeys,
  'command|getkeysandflags': commandGetkeys,
  'command|help': ({ w }, _argv) =>
    writeHelp(w, 'command', [
      '(no subcommand)',
      '    Return details about all Redis commands.',
      'COUNT',
      '    Return the total number of commands in this Redis server.',
      'LIST',
      '    Return a list of all commands in this Redis server.',
      'INFO [<command-name> ...]',
      '    Return details about multiple Redis commands.',
      '    If no command names are given, documentation details for all',
      '    commands are returned.',
      'DOCS [<command-name> ...]',
      '    Return documentation details about multiple Redis commands.',
      '    If no command names are given, documentation details for all',
      '    commands are returned.',
      'GETKEYS <full-command>',
      '    Return the keys from a full Redis command.',
    ]),
};
