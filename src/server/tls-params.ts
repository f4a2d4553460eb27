/**
 * Redis's tls-* parameters as Node.js TLS server options (read at start-up,
 * as the listener is made): tls-protocols → minVersion/maxVersion,
 * tls-ciphers (TLS 1.2 and below) and tls-ciphersuites (TLS 1.3) → one
 * `ciphers` list, tls-prefer-server-ciphers → honorCipherOrder,
 * tls-session-caching / tls-session-cache-timeout → resumption on or off and
 * sessionTimeout, tls-dh-params-file → dhparam, tls-key-file-pass →
 * passphrase. A value Redis's tlsConfigure refuses makes raftis refuse to
 * start with Redis's message.
 */
import fs from 'node:fs';
import crypto from 'node:crypto';
import tls from 'node:tls';

/** The parameters tlsServerOptions reads: a CONFIG SET of one rebuilds the TLS context for new connections. */
export const TLS_CONTEXT_PARAMS = [
  'tls-protocols', 'tls-ciphers', 'tls-ciphersuites', 'tls-prefer-server-ciphers', 'tls-session-caching',
  'tls-session-cache-timeout', 'tls-dh-params-file', 'tls-key-file-pass',
] as const;

/** The tls-* values, by their Redis names. */
export type TlsParamSource = (name: string) => string;

export class TlsParamError extends Error {}

const PROTOCOLS: Record<string, tls.SecureVersion> = { tlsv1: 'TLSv1', 'tlsv1.1': 'TLSv1.1', 'tlsv1.2': 'TLSv1.2', 'tlsv1.3': 'TLSv1.3' };
const ORDER: tls.SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/**
 * tls-protocols as redis_tls_parse_protocols reads it: space-separated,
 * case-insensitive names; empty is TLSv1.2 and TLSv1.3. Node.js takes a range,
 * so a list with a hole ("TLSv1.1 TLSv1.3") spans from its lowest to its highest.
 */
export function tlsProtocolRange(spec: string): { minVersion: tls.SecureVersion; maxVersion: tls.SecureVersion } {
  const words = spec.split(/\s+/).filter(Boolean);
  if (words.length === 0) return { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' };
  const got = words.map((w) => {
    const v = PROTOCOLS[w.toLowerCase()];
    if (v === undefined) throw new TlsParamError(`Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.`);
    return ORDER.indexOf(v);
  });
  return { minVersion: ORDER[Math.min(...got)]!, maxVersion: ORDER[Math.max(...got)]! };
}

/**
 * tls-ciphers and tls-ciphersuites in Node.js's single `ciphers` option: the
 * TLS 1.3 suites (names starting TLS_) then the TLS 1.2 list; an empty one
 * keeps Node.js's default for its part (OpenSSL's, as redis-server's).
 */
export function tlsCipherList(ciphers: string, suites: string): string {
  const defaults = tls.DEFAULT_CIPHERS.split(':');
  const v13 = suites !== '' ? suites : defaults.filter((c) => c.startsWith('TLS_')).join(':');
  const v12 = ciphers !== '' ? ciphers : defaults.filter((c) => !c.startsWith('TLS_')).join(':');
  return `${v13}:${v12}`;
}

function readFile(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new TlsParamError(`Failed to load ${what} ${file}: ${(e as Error).message}`);
  }
}

/** The server options the tls-* parameters ask for, to add to cert/key/ca/requestCert. */
export function tlsServerOptions(get: TlsParamSource): tls.TlsOptions {
  const out: tls.TlsOptions = { ...tlsProtocolRange(get('tls-protocols')), ciphers: tlsCipherList(get('tls-ciphers'), get('tls-ciphersuites')) };
  // Explicit both ways: a Node.js TLS server prefers its own order unless told otherwise; Redis's default is the client's.
  out.honorCipherOrder = get('tls-prefer-server-ciphers') === 'yes';
  if (get('tls-session-caching') === 'yes') {
    out.sessionTimeout = Number(get('tls-session-cache-timeout'));
  } else {
    // No resumption at all: neither session tickets (Node.js's own resumption) nor a session id cache.
    out.secureOptions = crypto.constants.SSL_OP_NO_TICKET;
  }
  const dh = get('tls-dh-params-file');
  if (dh !== '') out.dhparam = readFile(dh, 'DH params file');
  const pass = get('tls-key-file-pass');
  if (pass !== '') out.passphrase = pass;
  // The TLS 1.2 list is checked now, as SSL_CTX_set_cipher_list is by tlsConfigure.
  try {
    tls.createSecureContext({ ciphers: out.ciphers, minVersion: out.minVersion, maxVersion: out.maxVersion });
  } catch (e) {
    throw new TlsParamError(`Failed to configure ciphers (tls-ciphers / tls-ciphersuites): ${(e as Error).message}`);
  }
  return out;
}
