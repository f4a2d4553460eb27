/**
 * CLIENT TRACKING, CLIENT CACHING, CLIENT GETREDIR and CLIENT TRACKINGINFO:
 * client-side caching's connection commands, with redis-server 7.0's option
 * checks and texts (networking.c clientCommand). The tracking table itself
 * is src/commands/engine/tracking.ts.
 */
import { ERR } from './errors.js';
import { string2ll } from '../util/number.js';
import { byteOrder, type TrackingOptions } from './engine/tracking.js';
import type { ConnHandler } from './table.js';

const SWITCH_MODE = "before disabling tracking for this client, and then re-enabling it with a different mode.";

/** CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p …] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]. */
const clientTracking: ConnHandler = ({ c, w }, argv) => {
  const o: TrackingOptions = { redirect: 0, bcast: false, optin: false, optout: false, noloop: false, prefixes: [] };
  for (let j = 3; j < argv.length; j++) {
    const more = argv.length - 1 - j > 0;
    const opt = argv[j]!.toLowerCase();
    if (opt === 'redirect' && more) {
      j++;
      if (o.redirect !== 0) return w.error('ERR A client can only redirect to a single other client');
      const id = string2ll(argv[j]!);
      if (id === null) return w.error(ERR.notInteger);
      const target = c.server.clients.get(Number(id));
      if (target === undefined || target.closed) return w.error('ERR The client ID you want redirect to does not exist');
      o.redirect = Number(id);
    } else if (opt === 'bcast') {
      o.bcast = true;
    } else if (opt === 'optin') {
      o.optin = true;
    } else if (opt === 'optout') {
      o.optout = true;
    } else if (opt === 'noloop') {
      o.noloop = true;
    } else if (opt === 'prefix' && more) {
      o.prefixes.push(argv[++j]!);
    } else {
      return w.error(ERR.syntax);
    }
  }
  const tracking = c.server.tracking;
  const mode = argv[2]!.toLowerCase();
  if (mode === 'on') {
    if (!o.bcast && o.prefixes.length > 0) return w.error('ERR PREFIX option requires BCAST mode to be enabled');
    const cur = tracking.of(c);
    if (cur !== undefined && cur.bcast !== o.bcast) return w.error(`ERR You can't switch BCAST mode on/off ${SWITCH_MODE}`);
    if (o.bcast && (o.optin || o.optout)) return w.error('ERR OPTIN and OPTOUT are not compatible with BCAST');
    if (o.optin && o.optout) return w.error("ERR You can't specify both OPTIN mode and OPTOUT mode");
    if (cur !== undefined && ((o.optin && cur.optout) || (o.optout && cur.optin))) return w.error(`ERR You can't switch OPTIN/OPTOUT mode ${SWITCH_MODE}`);
    if (o.bcast) {
      const collision = tracking.prefixCollision(c, o.prefixes);
      if (collision !== undefined) return w.error(collision);
    }
    tracking.enable(c, o);
  } else if (mode === 'off') {
    tracking.disable(c);
  } else {
    return w.error(ERR.syntax);
  }
  w.ok();
};

/** CLIENT CACHING YES|NO: whether the next command's keys are tracked, in OPTIN / OPTOUT mode. */
const clientCaching: ConnHandler = ({ c, w }, argv) => {
  const st = c.server.tracking.of(c);
  if (st === undefined) return w.error('ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled');
  const opt = argv[2]!.toLowerCase();
  if (opt === 'yes') {
    if (!st.optin) return w.error('ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.');
  } else if (opt === 'no') {
    if (!st.optout) return w.error('ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.');
  } else {
    return w.error(ERR.syntax);
  }
  st.caching = true;
  w.ok();
};

/** CLIENT TRACKINGINFO: flags (a set in RESP3), redirect, prefixes (in byte order). */
const clientTrackingInfo: ConnHandler = ({ c, w }) => {
  const st = c.server.tracking.of(c);
  const flags: string[] = [st !== undefined ? 'on' : 'off'];
  if (st !== undefined) {
    if (st.bcast) flags.push('bcast');
    if (st.optin) flags.push('optin');
    if (st.optin && st.caching) flags.push('caching-yes');
    if (st.optout) flags.push('optout');
    if (st.optout && st.caching) flags.push('caching-no');
    if (st.noloop) flags.push('noloop');
    if (st.brokenRedirect) flags.push('broken_redirect');
  }
  w.mapHeader(3);
  w.bulk('flags');
  w.setHeader(flags.length);
  for (const f of flags) w.bulk(f);
  w.bulk('redirect');
  w.int(st !== undefined ? st.redirect : -1);
  w.bulk('prefixes');
  const prefixes = st !== undefined ? [...st.prefixes].sort(byteOrder) : [];
  w.arrayHeader(prefixes.length);
  for (const p of prefixes) w.bulk(p);
};

export const trackingCommands: Record<string, ConnHandler> = {
  'client|tracking': clientTracking,
  'client|caching': clientCaching,
  'client|getredir': ({ c, w }) => w.int(c.server.tracking.of(c)?.redirect ?? -1),
  'client|trackinginfo': clientTrackingInfo,
};

/** CLIENT LIST's tracking flags (t: tracking, R: its redirect is broken, B: BCAST) and redir field. */
export function trackingListFields(c: import('./engine/engine.js').EngineClient): { flags: string; redir: number } {
  const st = c.server.tracking.of(c);
  if (st === undefined) return { flags: '', redir: -1 };
  return { flags: 't' + (st.brokenRedirect ? 'R' : '') + (st.bcast ? 'B' : ''), redir: st.redirect };
}
