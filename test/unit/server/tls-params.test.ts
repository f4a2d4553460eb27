/** Redis's tls-* parameters as Node.js TLS server options (src/server/tls-params.ts). */
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TlsParamError, tlsCipherList, tlsProtocolRange, tlsServerOptions } from '../../../src/server/tls-params.js';

const DEFAULTS: Record<string, string> = {
  'tls-protocols': '',
  'tls-ciphers': '',
  'tls-ciphersuites': '',
  'tls-prefer-server-ciphers': 'no',
  'tls-session-caching': 'yes',
  'tls-session-cache-timeout': '300',
  'tls-dh-params-file': '',
  'tls-key-file-pass': '',
};
const source = (over: Record<string, string>) => (n: string): string => over[n] ?? DEFAULTS[n]!;

describe('tls-* parameters as Node.js options', () => {
  it('tls-protocols: a range from the lowest to the highest named, case-insensitive; empty is TLS 1.2 and 1.3', () => {
    expect(tlsProtocolRange('')).toEqual({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' });
    expect(tlsProtocolRange('TLSv1.3')).toEqual({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
    expect(tlsProtocolRange('tlsv1.2  TLSV1.1')).toEqual({ minVersion: 'TLSv1.1', maxVersion: 'TLSv1.2' });
    expect(() => tlsProtocolRange('TLSv1.2 SSLv3')).toThrow(TlsParamError);
  });

  it('tls-ciphers and tls-ciphersuites: one list, TLS 1.3 suites first, each defaulting to Node.js\'s part', () => {
    expect(tlsCipherList('ECDHE-RSA-AES128-GCM-SHA256', 'TLS_AES_128_GCM_SHA256')).toBe('TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES128-GCM-SHA256');
    const d = tlsCipherList('', 'TLS_CHACHA20_POLY1305_SHA256');
    expect(d.startsWith('TLS_CHACHA20_POLY1305_SHA256:')).toBe(true);
    expect(d).toContain('ECDHE-');
    expect(tlsCipherList('AES256-SHA', '').endsWith(':AES256-SHA')).toBe(true);
  });

  it('the other parameters, and a cipher list OpenSSL refuses', () => {
    expect(tlsServerOptions(source({}))).toMatchObject({ honorCipherOrder: false, sessionTimeout: 300, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' });
    const o = tlsServerOptions(source({ 'tls-prefer-server-ciphers': 'yes', 'tls-session-caching': 'no', 'tls-key-file-pass': 'secret' }));
    expect(o).toMatchObject({ honorCipherOrder: true, secureOptions: crypto.constants.SSL_OP_NO_TICKET, passphrase: 'secret' });
    expect(o.sessionTimeout).toBeUndefined();
    expect(tlsServerOptions(source({ 'tls-session-cache-timeout': '60' })).sessionTimeout).toBe(60);
    expect(() => tlsServerOptions(source({ 'tls-ciphers': 'NOT-A-CIPHER' }))).toThrow(/tls-ciphers/);
    expect(() => tlsServerOptions(source({ 'tls-dh-params-file': '/nonexistent/dh.pem' }))).toThrow(/DH params file/);
  });
});
