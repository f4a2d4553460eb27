/**
 * `raftis --join host:port`: a new node asks a running cluster to add it.
 * It learns the members from RAFT.INFO of the node it was pointed at, starts
 * with an empty log, then sends RAFT.NODE ADD (following a MOVED to the
 * leader); the leader adds it as a learner, brings it up to date (by
 * snapshot when the log was compacted) and promotes it once caught up.
 */
import net from 'node:net';
import tls from 'node:tls';
import RedisParser from 'redis-parser';
import type { PeerAddress } from './options.js';

const TIMEOUT_MS = 10_000;

/** TLS for --join against a cluster that serves clients over TLS only: trust `ca`, present cert/key. */
export interface JoinTls {
  ca?: Buffer | string | Buffer[];
  cert?: Buffer | string;
  key?: Buffer | string;
}

/** Sends one command to host:port and returns its reply (string, number, array or Error). */
export function respCall(host: string, port: number, args: readonly string[], useTls?: JoinTls): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = useTls !== undefined ? tls.connect({ host, port, ...useTls, ...(net.isIP(host) === 0 ? { servername: host } : {}) }) : net.connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from ${host}:${port} within ${TIMEOUT_MS / 1000} s`));
    }, TIMEOUT_MS);
    const done = (fn: () => void): void => {
      clearTimeout(timer);
      sock.destroy();
      fn();
    };
    const parser = new RedisParser({
      returnReply: (r: unknown) => done(() => resolve(r)),
      returnError: (e: Error) => done(() => resolve(e)),
      returnFatalError: (e: Error) => done(() => reject(e)),
    });
    sock.on('data', (d) => parser.execute(d));
    sock.on('error', (e) => done(() => reject(new Error(`cannot reach ${host}:${port}: ${e.message}`))));
    let s = `*${args.length}\r\n`;
    for (const a of args) s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
    sock.write(s);
  });
}

/** The members a node knows, from its RAFT.INFO member_<id> lines. */
export async function fetchMembers(host: string, port: number, useTls?: JoinTls): Promise<PeerAddress[]> {
  const r = await respCall(host, port, ['RAFT.INFO'], useTls);
  if (r instanceof Error) throw new Error(`RAFT.INFO on ${host}:${port} failed: ${r.message}`);
  const out: PeerAddress[] = [];
  for (const line of String(r).split(/\r?\n/)) {
    const m = /^member_(\d+):role=\w+,addr=(.+):(\d+),cluster_addr=.+:(\d+)$/.exec(line);
    if (m) out.push({ id: Number(m[1]), host: m[2]!, port: Number(m[3]), clusterPort: Number(m[4]) });
  }
  if (out.length === 0) throw new Error(`${host}:${port} did not list any member in RAFT.INFO: is it a raftis node?`);
  return out;
}

/** RAFT.NODE ADD self, following MOVED redirects to the leader (and retrying TRYAGAIN/CLUSTERDOWN briefly). */
export async function requestJoin(host: string, port: number, self: PeerAddress, useTls?: JoinTls): Promise<void> {
  let target = { host, port };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await respCall(target.host, target.port, ['RAFT.NODE', 'ADD', String(self.id), `${self.host}:${self.port}@${self.clusterPort}`], useTls);
    if (!(r instanceof Error)) return;
    const moved = /^MOVED \d+ (.+):(\d+)$/.exec(r.message);
    if (moved) {
      target = { host: moved[1]!, port: Number(moved[2]) };
      continue;
    }
    if (/^(TRYAGAIN|CLUSTERDOWN)/.test(r.message) && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 200));
      continue;
    }
    throw new Error(`the cluster refused to add this node: ${r.message}`);
  }
}
