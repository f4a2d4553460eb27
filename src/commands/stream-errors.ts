/**
 * Error texts of the stream commands, byte for byte as redis-server 7.0.15
 * sends them (t_stream.c, timeout.c). Kept apart from errors.ts so that
 * parallel work on other types does not collide; same rules: no leading
 * '-', `%s` arguments cut at a NUL byte (cstr), handlers never inline a text.
 */
import { cstr } from '../util/number.js';

export const STREAM_ERR = {
  invalidId: 'ERR Invalid stream ID specified as stream command argument',
  xaddZeroId: 'ERR The ID specified in XADD must be greater than 0-0',
  exhausted: 'ERR The stream has exhausted the last possible ID, unable to add more items',
  xaddSmaller: 'ERR The ID specified in XADD is equal or smaller than the target stream top item',
  tooLarge: 'ERR Elements are too large to be stored',
  maxlenAndMinid: 'ERR syntax error, MAXLEN and MINID options at the same time are not compatible',
  maxlenNegative: 'ERR The MAXLEN argument must be >= 0.',
  limitNegative: 'ERR The LIMIT argument must be >= 0.',
  limitWithoutStrategy: 'ERR syntax error, LIMIT cannot be used without specifying a trimming strategy',
  xtrimWithoutStrategy: 'ERR syntax error, XTRIM must be called with a trimming strategy',
  limitWithoutApprox: 'ERR syntax error, LIMIT cannot be used without the special ~ option',
  invalidStart: 'ERR invalid start ID for the interval',
  invalidEnd: 'ERR invalid end ID for the interval',
  unbalanced: "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
  groupOnlyXreadgroup: 'ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.',
  noackOnlyXreadgroup: 'ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.',
  missingGroup: 'ERR Missing GROUP option for XREADGROUP',
  dollarInXreadgroup:
    'ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.',
  gtOnlyXreadgroup: 'ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.',
  timeoutNotInteger: 'ERR timeout is not an integer or out of range',
  timeoutNegative: 'ERR timeout is negative',
  entriesReadRange: 'ERR value for ENTRIESREAD must be positive or -1',
  xgroupNeedsKey:
    'ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.',
  busyGroup: 'BUSYGROUP Consumer Group name already exists',
  entriesAddedPositive: 'ERR entries_added must be positive',
  xsetidBelowMaxDeleted: 'ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id',
  xsetidBelowTop: 'ERR The ID specified in XSETID is smaller than the target stream top item',
  xsetidEntriesAdded: 'ERR The entries_added specified in XSETID is smaller than the target stream length',
  xclaimMinIdle: 'ERR Invalid min-idle-time argument for XCLAIM',
  xclaimIdle: 'ERR Invalid IDLE option argument for XCLAIM',
  xclaimTime: 'ERR Invalid TIME option argument for XCLAIM',
  xclaimRetry: 'ERR Invalid RETRYCOUNT option argument for XCLAIM',
  xautoclaimMinIdle: 'ERR Invalid min-idle-time argument for XAUTOCLAIM',
  xautoclaimCount: 'ERR COUNT must be > 0',
  blockedGroupGone: 'NOGROUP the consumer group this client was blocked on no longer exists',
  blockedKeyGone: 'UNBLOCKED the stream key no longer exists',
} as const;

/** XREADGROUP on a missing key or group. */
export function nogroupXreadgroup(key: string, group: string): string {
  return `NOGROUP No such key '${cstr(key)}' or consumer group '${cstr(group)}' in XREADGROUP with GROUP option`;
}

/** XGROUP SETID / CREATECONSUMER / DELCONSUMER and XINFO CONSUMERS on a missing group. */
export function nogroupForKey(group: string, key: string): string {
  return `NOGROUP No such consumer group '${cstr(group)}' for key name '${cstr(key)}'`;
}

/** XPENDING, XCLAIM, XAUTOCLAIM on a missing key or group. */
export function nogroupKeyOrGroup(key: string, group: string): string {
  return `NOGROUP No such key '${cstr(key)}' or consumer group '${cstr(group)}'`;
}

export function xclaimUnknownOption(opt: string): string {
  return `ERR Unrecognized XCLAIM option '${cstr(opt)}'`;
}

/** XREAD / XREADGROUP with BLOCK inside a script (the command name as the script spelt it). */
export function blockFromScriptError(cmd: string): string {
  return `ERR ${cstr(cmd)} command is not allowed with BLOCK option from scripts`;
}
