/**
 * Every error text a client can see, byte for byte as Redis 7 sends it
 * (redis/src/server.c createSharedObjects, networking.c, object.c, t_*.c).
 * The text excludes the leading '-' and trailing CRLF; RespWriter.error adds them
 * and cleans CR and LF out of the text (a client's bytes echoed in it), so
 * builders here only reproduce printf's cuts: `%s` stops at a NUL byte (cstr).
 * Handlers import these and never inline an error string.
 */
import { PROTOCOL_ERR } from '../server/protocol-errors.js';
import { cstr } from '../util/number.js';

export { protoExpectedDollar } from '../server/protocol-errors.js';

export const ERR = {
  ...PROTOCOL_ERR,
  wrongtype: 'WRONGTYPE Operation against a key holding the wrong kind of value',
  syntax: 'ERR syntax error',
  nokey: 'ERR no such key',
  outofrange: 'ERR index out of range',
  notInteger: 'ERR value is not an integer or out of range',
  notFloat: 'ERR value is not a valid float',
  overflow: 'ERR increment or decrement would overflow',
  incrFloatNaN: 'ERR increment would produce NaN or Infinity',
  sameobject: 'ERR source and destination objects are the same',
  execabort: 'EXECABORT Transaction discarded because of previous errors.',
  noauth: 'NOAUTH Authentication required.',
  selectDbOutOfRange: 'ERR DB index is out of range',
  multiNested: 'ERR MULTI calls can not be nested',
  execWithoutMulti: 'ERR EXEC without MULTI',
  discardWithoutMulti: 'ERR DISCARD without MULTI',
  watchInsideMulti: 'ERR WATCH inside MULTI is not allowed',
  stringTooLong: 'ERR string exceeds maximum allowed size (proto-max-bulk-len)',
  offsetOutOfRange: 'ERR offset is out of range',
  expireOptionsNXandOthers: 'ERR NX and XX, GT or LT options at the same time are not compatible',
  expireOptionsGTandLT: 'ERR GT and LT options at the same time are not compatible',
} as const;

export type ErrorName = keyof typeof ERR;

/** `ERR wrong number of arguments for 'get' command` (networking.c addReplyErrorArity). */
export function arityError(name: string): string {
  return `ERR wrong number of arguments for '${name}' command`;
}

/**
 * `ERR unknown command 'foo', with args beginning with: 'a' 'b' ` (server.c
 * commandCheckExistence): the name is cut at 128 bytes, args at 128 bytes each,
 * and the whole list of args is limited the way sdscatfmt + "%.*s" do it;
 * each is cut at a NUL byte as well (printf's %s).
 */
export function unknownCommandError(argv: readonly string[]): string {
  let args = '';
  for (let i = 1; i < argv.length && args.length < 128; i++) {
    const remaining = 128 - args.length;
    args += `'${cstr(argv[i] ?? '').slice(0, remaining)}' `;
  }
  return `ERR unknown command '${cstr(argv[0] ?? '').slice(0, 128)}', with args beginning with: ${args}`;
}

/** `ERR unknown subcommand 'x'. Try CONFIG HELP.` (%.128s) */
export function unknownSubcommandError(sub: string, container: string): string {
  return `ERR unknown subcommand '${cstr(sub).slice(0, 128)}'. Try ${container.toUpperCase()} HELP.`;
}

/**
 * `ERR unknown subcommand or wrong number of arguments for 'x'. Try PUBSUB HELP.`
 * (networking.c addReplySubcommandSyntaxError: %.128s).
 */
export function subcommandSyntaxError(sub: string, container: string): string {
  return `ERR unknown subcommand or wrong number of arguments for '${cstr(sub).slice(0, 128)}'. Try ${container.toUpperCase()} HELP.`;
}

/** A RESP2 client in subscribed mode ran another command (server.c processCommand). */
export function pubsubContextError(fullname: string): string {
  return `ERR Can't execute '${fullname}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`;
}

/** `MOVED <slot> <host>:<port>` (cluster.c clusterRedirectClient). */
export function movedError(slot: number, host: string, port: number): string {
  return `MOVED ${slot} ${host}:${port}`;
}

/** `ERR invalid expire time in 'set' command` */
export function invalidExpireError(cmd: string): string {
  return `ERR invalid expire time in '${cmd}' command`;
}

/** Connection and server command texts (server.c / networking.c / config.c / acl.c). */
export const ERR_CONN = {
  helloProtoNotInteger: 'ERR Protocol version is not an integer or out of range',
  noproto: 'NOPROTO unsupported protocol version',
  wrongpass: 'WRONGPASS invalid username-password pair or user is disabled.',
  authNoPassword:
    'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
  clientNameChars: 'ERR Client names cannot contain spaces, newlines or special characters.',
  getkeysInvalidCommand: 'ERR Invalid command specified',
  getkeysInvalidArgs: 'ERR Invalid number of arguments specified for command',
  getkeysBadArgs: 'ERR Invalid arguments specified for command',
  getkeysNoKeys: 'ERR The command has no key arguments',
  noSuchClient: 'ERR No such client',
} as const;

/** `ERR Syntax error in HELLO option 'x'` */
export function helloSyntaxError(opt: string): string {
  return `ERR Syntax error in HELLO option '${cstr(opt)}'`;
}

/** `ERR Unknown option or number of arguments for CONFIG SET - 'x'` */
export function configSetUnknown(name: string): string {
  return `ERR Unknown option or number of arguments for CONFIG SET - '${cstr(name)}'`;
}

/** `ERR CONFIG SET failed (possibly related to argument 'x') - reason` */
export function configSetFailed(name: string, reason: string): string {
  return `ERR CONFIG SET failed (possibly related to argument '${name}') - ${reason}`;
}

/** CLIENT SETINFO (Redis 7.2): `ERR lib-name cannot contain spaces, newlines or special characters.` */
export function clientAttrChars(attr: string): string {
  return `ERR ${attr} cannot contain spaces, newlines or special characters.`;
}

/** `ERR Unrecognized option 'x'` */
export function unrecognizedOption(opt: string): string {
  return `ERR Unrecognized option '${opt}'`;
}

/** String and keyspace command errors (t_string.c, db.c, expire.c). */
export const KEYSPACE_ERR = {
  invalidCursor: 'ERR invalid cursor',
  decrementOverflow: 'ERR decrement would overflow',
} as const;

/**
 * `ERR Unsupported option xy` (expire.c parseExtendedExpireArgumentsOrReply):
 * printed with %s, so the option stops at its first NUL byte; CR and LF are
 * RespWriter.error's (trailing ones removed, the others spaces).
 */
export function unsupportedOptionError(opt: string): string {
  return 'ERR Unsupported option ' + cstr(opt);
}

/** `ERR value is out of range, value must between -2147483648 and 2147483647` (object.c getRangeLongFromObjectOrReply). */
export function valueOutOfRangeError(min: number | bigint, max: number | bigint): string {
  return `ERR value is out of range, value must between ${min} and ${max}`;
}
