/**
 * Throwaway certificates for TLS tests, made with openssl at test time in a
 * temporary directory (never committed). One CA signs a server/peer
 * certificate valid for the loopback addresses the tests use and a client
 * certificate; `otherCa` is an unrelated CA with its own node certificate,
 * for "signed by the wrong CA" cases.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface CertFiles {
  dir: string;
  caCert: string;
  /** Valid for 127.0.0.1–127.0.0.3 and localhost; usable as server and client certificate. */
  cert: string;
  key: string;
  /** A client certificate from the same CA. */
  clientCert: string;
  clientKey: string;
  /** Another CA, and a node certificate it signed (same names) */
  otherCaCert: string;
  otherCert: string;
  otherKey: string;
  read(file: string): Buffer;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
}

function makeCa(dir: string, name: string): void {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`], dir);
}

function makeLeaf(dir: string, ca: string, name: string, cn: string): void {
  fs.writeFileSync(
    path.join(dir, `${name}.ext`),
    'subjectAltName=IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`], dir);
}

export function makeCerts(): CertFiles {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-certs-'));
  try {
    makeCa(dir, 'ca');
    makeLeaf(dir, 'ca', 'node', 'raftis-node');
    makeLeaf(dir, 'ca', 'client', 'raftis-client');
    makeCa(dir, 'other-ca');
    makeLeaf(dir, 'other-ca', 'other', 'raftis-impostor');
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const p = (f: string): string => path.join(dir, f);
  return {
    dir,
    caCert: p('ca.crt'),
    cert: p('node.crt'),
    key: p('node.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    otherCaCert: p('other-ca.crt'),
    otherCert: p('other.crt'),
    otherKey: p('other.key'),
    read: (f) => fs.readFileSync(f),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
