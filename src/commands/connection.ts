/**
 * Connection commands: PING ECHO HELLO SELECT QUIT RESET AUTH and CLIENT.
 * They act on the client, never on the keyspace, and are never replicated.
 */
import type { EngineClient as Client } from './engine/engine.js';
import { ERR, ERR_CONN, arityError, clientAttrChars, helloSyntaxError, subcommandSyntaxError, unrecognizedOption } from './errors.js';
import { string2ll } from '../util/number.js';
import { parseDbIndex } from './db-index.js';
import { writeHelp } from './help.js';
import type { ConnHandler, ConnCtx } from './table.js';
import { trackingListFields } from './tracking.js';
import { Denied } from './engine/acl.js';
import type { ClientUser } from '../server/client.js';

const HELLO_NOAUTH =
  'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time';

export const REDIS_VERSION = '7.0.15';

function ping({ c, w }: ConnCtx, argv: string[]): void {
  if (argv.length > 2) return w.error(arityError('ping'));
  if (c.proto === 2 && c.inPubSub) {
    // Subscribed RESP2 clients read arrays only: Redis answers with a `pong` message.
    w.arrayHeader(2);
    w.bulk('pong');
    return w.bulk(argv[1] ?? '');
  }
  if (argv.length === 2) w.bulk(argv[1]!);
  else w.simple('PONG');
}

function echo({ w }: ConnCtx, argv: string[]): void {
  w.bulk(argv[1]!);
}

function quit({ c, w }: ConnCtx, _argv: string[]): void {
  c.server.pubsub.unsubscribeAll(c);
  w.ok();
  c.closeAfterReply();
}

/** Redis's validateClientName / validateClientAttr: printable ASCII, no spaces. */
function validName(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch < 33 || ch > 126) return false;
  }
  return true;
}

/**
 * ACLAuthenticateUser: on success the client acts as the user from now on;
 * a failure is logged in ACL LOG (reason auth, the command's name as sent).
 */
function authenticate(c: Client, name: string, password: string, command: string): boolean {
  const acl = c.server.acl;
  const u = acl.checkCredentials(name, password);
  if (u === undefined) {
    acl.addLog(Denied.Auth, c.multi !== undefined ? 'multi' : 'toplevel', command, name, clientInfoLine(c));
    return false;
  }
  c.user = u;
  c.authenticated = true;
  return true;
}

function auth({ c, w }: ConnCtx, argv: string[]): void {
  if (argv.length > 3) return w.error(ERR.syntax);
  const command = argv[0]!;
  let name = 'default';
  let password: string;
  if (argv.length === 2) {
    // The old form is an error while the default user needs no password.
    if (c.server.acl.defaultUser.nopass) {
      argv[1] = '(redacted)';
      return w.error(ERR_CONN.authNoPassword);
    }
    password = argv[1]!;
    argv[1] = '(redacted)';
  } else {
    name = argv[1]!;
    password = argv[2]!;
    argv[1] = argv[2] = '(redacted)';
  }
  if (!authenticate(c, name, password, command)) return w.error(ERR_CONN.wrongpass);
  w.ok();
}

function hello({ c, w }: ConnCtx, argv: string[]): void {
  let ver = c.proto as number;
  let i = 1;
  if (argv.length >= 2) {
    const s = argv[1]!;
    if (!/^-?\d+$/.test(s) || s.length > 19) return w.error(ERR_CONN.helloProtoNotInteger);
    ver = Number(s);
    if (ver < 2 || ver > 3) return w.error(ERR_CONN.noproto);
    i = 2;
  }
  let setname: string | undefined;
  let user: string | undefined;
  let password: string | undefined;
  for (; i < argv.length; i++) {
    const opt = argv[i]!;
    const more = argv.length - i - 1;
    const lower = opt.toLowerCase();
    if (lower === 'auth' && more >= 2) {
      user = argv[i + 1]!;
      password = argv[i + 2]!;
      argv[i + 1] = argv[i + 2] = '(redacted)';
      i += 2;
    } else if (lower === 'setname' && more >= 1) {
      setname = argv[i + 1]!;
      if (!validName(setname)) return w.error(ERR_CONN.clientNameChars);
      i += 1;
    } else {
      return w.error(helloSyntaxError(opt));
    }
  }
  if (user !== undefined && !authenticate(c, user, password!, argv[0]!)) return w.error(ERR_CONN.wrongpass);
  if (!c.authenticated && c.server.acl.authRequired) return w.error(HELLO_NOAUTH);
  if (setname !== undefined) c.name = setname;
  c.setProto(ver as 2 | 3);
  w.proto = c.proto;
  w.mapHeader(7);
  w.bulk('server');
  w.bulk('redis');
  w.bulk('version');
  w.bulk(REDIS_VERSION);
  w.bulk('proto');
  w.int(ver);
  w.bulk('id');
  w.int(c.id);
  w.bulk('mode');
  w.bulk(c.server.node.voters.length > 1 ? 'cluster' : 'standalone');
  w.bulk('role');
  w.bulk(c.server.node.isLeader ? 'master' : 'replica');
  w.bulk('modules');
  w.arrayHeader(0);
}

/**
 * SELECT db: the client's commands act on that database from now on. It is
 * allowed in cluster mode, as Valkey 9 allows it (slots come from the key
 * alone); Redis 7.0's cluster mode refuses any db but 0.
 */
function select({ c, w }: ConnCtx, argv: string[]): void {
  const i = parseDbIndex(argv[1]!, c.server.dbs.count);
  if (typeof i === 'string') return w.error(i);
  selectDb(c, i);
  w.ok();
}

/** Makes database i the client's (callers checked the range). */
export function selectDb(c: Client, i: number): void {
  c.db = c.server.dbs.get(i);
  c.dbIndex = i;
}

/**
 * MONITOR: from now on this client is shown every command run on this node
 * (Stats.feedMonitors); a second MONITOR gets no reply, as in Redis; RESET
 * ends it.
 */
function monitor({ c, w }: ConnCtx, _argv: string[]): void {
  if (c.inExec) return w.error("ERR MONITOR isn't allowed for DENY BLOCKING client");
  const monitors = c.server.stats.monitors;
  if (monitors.has(c)) return;
  monitors.add(c);
  w.ok();
}

function reset({ c, w }: ConnCtx, _argv: string[]): void {
  c.multi = undefined;
  c.multiError = false;
  c.server.unwatchAll(c);
  c.server.pubsub.unsubscribeAll(c);
  c.server.stats.monitors.delete(c);
  c.server.tracking.disable(c);
  c.name = '';
  c.readonly = false;
  // clientSetDefaultAuth: back to the default user, authenticated only if it needs no password.
  c.user = c.server.acl.defaultUser;
  c.authenticated = c.server.acl.startsAuthenticated;
  selectDb(c, 0);
  c.setProto(2);
  c.setReplyMode('on');
  const out = c.pushing(w);
  out.proto = 2;
  out.simple('RESET');
}

/** One CLIENT LIST line, with Redis 7's fields (lib-name/lib-ver as in 7.2). */
export function clientInfoLine(c: Client, now = Date.now()): string {
  const tracking = trackingListFields(c);
  // getClientInfoString's order: O P x b t R B d U r e, N when none.
  const flags =
    (c.server.stats.monitors.has(c) ? 'O' : '') +
      (c.inPubSub ? 'P' : '') +
      (c.multi !== undefined ? 'x' : '') +
      (c.server.dispatcher.blocking.isBlocked(c) ? 'b' : '') +
      tracking.flags +
      (c.watchDirty ? 'd' : '') +
      (c.unixPath !== undefined ? 'U' : '') +
      (c.readonly ? 'r' : '') +
      (c.noEvict ? 'e' : '') || 'N';
  return (
    `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=${(c.sock as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1}` +
    ` name=${c.name} age=${Math.floor((now - c.createdAt) / 1000)} idle=${Math.floor((now - c.lastInteraction) / 1000)}` +
    ` flags=${flags} db=${c.dbIndex} sub=${c.channels.size} psub=${c.patterns.size} ssub=${c.shardChannels.size} multi=${c.multi !== undefined ? c.multi.length : -1}` +
    ` qbuf=${c.queryBufferBytes} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=${c.pendingReplies} omem=${c.socketBytes}` +
    ` tot-mem=${c.memoryUsage()} events=r cmd=${c.lastCommand} user=${c.user.name} redir=${tracking.redir} resp=${c.proto} lib-name=${c.libName} lib-ver=${c.libVer}`
  );
}

/** Redis's getClientType for the clients raftis has. */
function clientType(c: Client): string {
  return c.inPubSub ? 'pubsub' : 'normal';
}

const CLIENT_TYPES = new Set(['normal', 'master', 'replica', 'slave', 'pubsub']);

/**
 * CLIENT KILL addr:port (old form: OK, or "No such client"; may kill the
 * caller) or CLIENT KILL <filter value> … with ID, TYPE, ADDR, LADDR, USER,
 * SKIPME (how many were killed; the caller is spared unless SKIPME no).
 * Redis's clientKillCommand; a killed caller is closed after its reply.
 */
function clientKill({ c, w }: ConnCtx, argv: string[]): void {
  let addr: string | undefined;
  let laddr: string | undefined;
  let id = 0;
  let type: string | undefined;
  let skipme = true;
  let user: ClientUser | undefined;
  if (argv.length === 3) {
    addr = argv[2]!;
    skipme = false;
  } else if (argv.length > 3) {
    for (let i = 2; i < argv.length; i += 2) {
      const opt = argv[i]!.toLowerCase();
      const val = argv[i + 1];
      if (val === undefined) return w.error(ERR.syntax);
      if (opt === 'id') {
        const n = string2ll(val);
        if (n === null || n < 1n) return w.error('ERR client-id should be greater than 0');
        id = Number(n);
      } else if (opt === 'type') {
        type = val.toLowerCase();
        if (!CLIENT_TYPES.has(type)) return w.error(`ERR Unknown client type '${val}'`);
        if (type === 'slave') type = 'replica';
      } else if (opt === 'addr') {
        addr = val;
      } else if (opt === 'laddr') {
        laddr = val;
      } else if (opt === 'user') {
        user = c.server.acl.users.get(val);
        if (user === undefined) return w.error(`ERR No such user '${val}'`);
      } else if (opt === 'skipme') {
        const v = val.toLowerCase();
        if (v !== 'yes' && v !== 'no') return w.error(ERR.syntax);
        skipme = v === 'yes';
      } else {
        return w.error(ERR.syntax);
      }
    }
  } else {
    return w.error(ERR.syntax);
  }
  let killed = 0;
  let self = false;
  for (const cl of [...c.server.clients.values()]) {
    if (addr !== undefined && cl.addr !== addr) continue;
    if (laddr !== undefined && cl.laddr !== laddr) continue;
    if (type !== undefined && clientType(cl) !== type) continue;
    if (id !== 0 && cl.id !== id) continue;
    if (user !== undefined && cl.user !== user) continue;
    if (cl === c && skipme) continue;
    if (cl === c) self = true;
    else cl.kill();
    killed++;
  }
  if (argv.length === 3) {
    if (killed === 0) w.error('ERR No such client');
    else w.ok();
  } else {
    w.int(killed);
  }
  if (self) c.closeAfterReply();
}

const client: Record<string, ConnHandler> = {
  'client|id': ({ c, w }, _argv) => w.int(c.id),
  'client|getname': ({ c, w }, _argv) => (c.name === '' ? w.nil() : w.bulk(c.name)),
  'client|setname': ({ c, w }, argv) => {
    const name = argv[2]!;
    if (!validName(name)) return w.error(ERR_CONN.clientNameChars);
    c.name = name;
    w.ok();
  },
  'client|setinfo': ({ c, w }, argv) => {
    const attr = argv[2]!.toLowerCase();
    const val = argv[3]!;
    if (attr !== 'lib-name' && attr !== 'lib-ver') return w.error(unrecognizedOption(argv[2]!));
    if (!validName(val) && val !== '') return w.error(clientAttrChars(attr));
    if (attr === 'lib-name') c.libName = val;
    else c.libVer = val;
    w.ok();
  },
  'client|info': ({ c, w }, _argv) => w.verbatim(clientInfoLine(c) + '\n'),
  'client|kill': clientKill,
  'client|unblock': ({ c, w }, argv) => {
    if (argv.length > 4) return w.error(subcommandSyntaxError(argv[1]!, 'client'));
    let error = false;
    if (argv.length === 4) {
      const reason = argv[3]!.toLowerCase();
      if (reason !== 'timeout' && reason !== 'error') return w.error('ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR');
      error = reason === 'error';
    }
    const id = string2ll(argv[2]!);
    if (id === null) return w.error(ERR.notInteger);
    w.int(c.server.dispatcher.blocking.unblock(Number(id), error) ? 1 : 0);
  },
  'client|pause': ({ c, w }, argv) => {
    if (argv.length > 4) return w.error(subcommandSyntaxError(argv[1]!, 'client'));
    let all = true;
    if (argv.length === 4) {
      const mode = argv[3]!.toLowerCase();
      if (mode !== 'write' && mode !== 'all') return w.error('ERR CLIENT PAUSE mode must be WRITE or ALL');
      all = mode === 'all';
    }
    const ms = string2ll(argv[2]!);
    if (ms === null) return w.error('ERR timeout is not an integer or out of range');
    if (ms < 0n) return w.error('ERR timeout is negative');
    c.server.pauseClients(Number(ms), all);
    w.ok();
  },
  'client|unpause': ({ c, w }, _argv) => {
    c.server.unpauseClients();
    w.ok();
  },
  'client|reply': ({ c, w }, argv) => {
    const v = argv[2]!.toLowerCase();
    if (v !== 'on' && v !== 'off' && v !== 'skip') return w.error(ERR.syntax);
    c.setReplyMode(v);
    // OFF and SKIP are not answered; ON is (replies are on again).
    if (v === 'on') c.pushing(w).ok();
  },
  // maxmemory-clients spares this client (src/server/client-eviction.ts).
  'client|no-evict': ({ c, w }, argv) => {
    const v = argv[2]!.toLowerCase();
    if (v !== 'on' && v !== 'off') return w.error(ERR.syntax);
    c.noEvict = v === 'on';
    w.ok();
  },
  'client|list': ({ c, w }, argv) => {
    let ids: Set<number> | undefined;
    let type: string | undefined;
    for (let i = 2; i < argv.length; i++) {
      const opt = argv[i]!.toLowerCase();
      if (opt === 'type' && i + 1 < argv.length) {
        type = argv[++i]!.toLowerCase();
        if (!CLIENT_TYPES.has(type)) {
          return w.error(`ERR Unknown client type '${argv[i]}'`);
        }
      } else if (opt === 'id' && i + 1 < argv.length) {
        ids = new Set();
        for (i++; i < argv.length; i++) {
          const s = argv[i]!;
          if (!/^\d+$/.test(s) || Number(s) <= 0) return w.error(`ERR Invalid client ID`);
          ids.add(Number(s));
        }
      } else {
        return w.error(ERR.syntax);
      }
    }
    const now = Date.now();
    let out = '';
    for (const cl of c.server.clients.values()) {
      if (ids && !ids.has(cl.id)) continue;
      // Redis's getClientType: a client with subscriptions is of type pubsub, not normal.
      if (type !== undefined && type !== clientType(cl)) continue;
      out += clientInfoLine(cl, now) + '\n';
    }
    w.verbatim(out);
  },
  'client|help': ({ w }, _argv) =>
    writeHelp(w, 'client', [
      'CACHING (YES|NO)',
      '    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.',
      'GETREDIR',
      '    Return the client ID we are redirecting to when tracking is enabled.',
      'GETNAME',
      '    Return the name of the current connection.',
      'ID',
      '    Return the ID of the current connection.',
      'INFO',
      '    Return information about the current client connection.',
      'KILL <ip:port>',
      '    Kill connection made from <ip:port>.',
      'KILL <option> <value> [<option> <value> [...]]',
      '    Kill connections. Options are:',
      '    * ADDR (<ip:port>|<unixsocket>:0)',
      '      Kill connections made from the specified address',
      '    * LADDR (<ip:port>|<unixsocket>:0)',
      '      Kill connections made to specified local address',
      '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
      '      Kill connections by type.',
      '    * USER <username>',
      '      Kill connections authenticated by <username>.',
      '    * SKIPME (YES|NO)',
      '      Skip killing current connection (default: yes).',
      'LIST [options ...]',
      '    Return information about client connections. Options:',
      '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
      '      Return clients of specified type.',
      'SETNAME <name>',
      '    Assign the name <name> to the current connection.',
      'UNPAUSE',
      '    Stop the current client pause, resuming traffic.',
      'PAUSE <timeout> [WRITE|ALL]',
      '    Suspend all, or just write, clients for <timeout> milliseconds.',
      'UNBLOCK <clientid> [TIMEOUT|ERROR]',
      '    Unblock the specified blocked client.',
      'TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]',
      '         [OPTIN] [OPTOUT] [NOLOOP]',
      '    Control server assisted client side caching.',
      'TRACKINGINFO',
      '    Report tracking status for the current connection.',
      'NO-EVICT (ON|OFF)',
      '    Protect current client connection from eviction.',
      'SETINFO <option> <value>',
      '    Set client meta attr. Options are:',
      '    * LIB-NAME: the client lib name.',
      '    * LIB-VER: the client lib version.',
    ]),
};

export const connectionCommands: Record<string, ConnHandler> = {
  ping,
  echo,
  quit,
  auth,
  hello,
  select,
  reset,
  monitor,
  ...client,
};
