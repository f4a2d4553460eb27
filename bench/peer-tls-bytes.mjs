#!/usr/bin/env node
// CPU per megabyte of TLS against plain TCP on loopback, both ends in this
// one process (so the figure is encrypt + decrypt + the socket work of both
// sides): the cost peer TLS adds per byte a leader sends to a follower. A
// per-byte figure, unlike requests per second, can be measured on a loaded
// machine: process.cpuUsage() counts only this process's CPU.
//
// Usage: node bench/peer-tls-bytes.mjs [--mb 200] [--rounds 3] [--chunk 16384]
// Needs openssl (a throwaway CA and certificate in a temporary directory).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

const argv = process.argv.slice(2);
const opt = (n, d) => (argv.includes(n) ? Number(argv[argv.indexOf(n) + 1]) : d);
const MB = opt('--mb', 200);
const ROUNDS = opt('--rounds', 3);
const CHUNK = opt('--chunk', 16384);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-tls-bytes-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
const ossl = (...a) => execFileSync('openssl', a, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
ossl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=ca');
fs.writeFileSync(path.join(dir, 'n.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
ossl('req', ...ec, '-keyout', 'n.key', '-out', 'n.csr', '-subj', '/CN=n');
ossl('x509', '-req', '-in', 'n.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'n.crt', '-days', '2', '-extfile', 'n.ext');
const r = (f) => fs.readFileSync(path.join(dir, f));
const creds = { cert: r('n.crt'), key: r('n.key'), ca: r('ca.crt') };

async function transfer(useTls) {
  const total = MB * 1024 * 1024;
  let got = 0;
  let done;
  const finished = new Promise((res) => (done = res));
  const onSock = (s) => s.on('data', (d) => { got += d.length; if (got >= total) done(); });
  const server = useTls
    ? tls.createServer({ ...creds, requestCert: true, rejectUnauthorized: true }, onSock)
    : net.createServer(onSock);
  await new Promise((res) => server.listen(0, '127.0.0.1', res));
  const port = server.address().port;
  const sock = useTls ? tls.connect({ host: '127.0.0.1', port, ...creds }) : net.connect({ host: '127.0.0.1', port });
  await new Promise((res) => sock.once(useTls ? 'secureConnect' : 'connect', res));
  const buf = Buffer.alloc(CHUNK, 7);
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      sent += buf.length;
      if (!sock.write(buf)) return sock.once('drain', pump);
    }
  };
  pump();
  await finished;
  const c = process.cpuUsage(c0);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  sock.destroy();
  server.close();
  return { cpuUsPerMB: (c.user + c.system) / MB, ms };
}

const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const res = { plain: [], tls: [] };
for (let i = 0; i < ROUNDS; i++) {
  for (const k of i % 2 ? ['tls', 'plain'] : ['plain', 'tls']) res[k].push((await transfer(k === 'tls')).cpuUsPerMB);
}
console.log(`load average: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; ${MB} MB per run in ${CHUNK}-byte writes, ${ROUNDS} rounds, median (lowest-highest)`);
for (const k of ['plain', 'tls']) {
  console.log(`${k}: ${med(res[k]).toFixed(0)} µs CPU per MB (${Math.min(...res[k]).toFixed(0)}-${Math.max(...res[k]).toFixed(0)})`);
}
console.log(`TLS adds ${(med(res.tls) - med(res.plain)).toFixed(0)} µs CPU per MB sent and received`);
