#!/usr/bin/env node
/**
 * Replays RESP fuzz batches one connection at a time against a fresh node,
 * timing each, to find which request made a batch of bench/fuzz.mjs crash or
 * stall (the request stream depends only on the seed; the long run's
 * concurrency only interleaves it).
 *
 *   node bench/fuzz-replay.mjs --seed 1 --from 161 --to 167 [--slow-ms 2000]
 *
 * Start --from just after a cleanup (every 10th batch) so that the node's data
 * is what the long run had.
 */
import { parseArgs } from 'node:util';
import { procTicks, startRaftisCluster } from './lib.mjs';
import { Conn, fuzzConnection, pingWithin, alive, payloadSource } from '../test/fuzz/harness.mjs';
import { RespGenerator } from '../test/fuzz/resp-gen.mjs';

const { values: a } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    from: { type: 'string', default: '1' },
    to: { type: 'string', default: '1' },
    'batch-requests': { type: 'string', default: '1000' },
    'per-conn': { type: 'string', default: '40' },
    'slow-ms': { type: 'string', default: '2000' },
  },
});
const FROM = Number(a.from);
const TO = Number(a.to);
const BATCH = Number(a['batch-requests']);
const SLOW = Number(a['slow-ms']);
const gen = new RespGenerator(Number(a.seed));
const payload = payloadSource(gen, Number(a['per-conn']));
const cluster = await startRaftisCluster(1, []);
const n = cluster.nodes[0];
try {
  const c = await Conn.open(n.host, n.port);
  await c.str(['CONFIG', 'SET', 'proto-max-bulk-len', '1048576']);
  c.close();
  let sent = 0;
  for (let b = 1; b <= TO; b++) {
    const end = sent + BATCH;
    let conns = 0;
    while (sent < end) {
      const p = payload(end - sent);
      sent += p.n;
      if (b < FROM) continue;
      conns++;
      const t0 = Date.now();
      const cpu0 = procTicks(n.proc.pid).self;
      const r = await fuzzConnection(n.host, n.port, p.bytes, p.tail, { quietMs: 1000, maxMs: 60_000 });
      const ms = Date.now() - t0;
      const pingT0 = Date.now();
      const pong = await pingWithin(n.host, n.port, 30_000);
      const pingMs = Date.now() - pingT0;
      const cpuMs = (procTicks(n.proc.pid).self - cpu0) * 10;
      if (ms > SLOW || pingMs > SLOW || !pong || r.malformed || !alive(n.proc.pid)) {
        console.log(`batch ${b} connection ${conns}: ${ms} ms (${r.why}), replies ${r.replies}, then PING ${pong ? pingMs + ' ms' : 'failed'}; the node's CPU over both: ${cpuMs} ms${r.malformed ? ', MALFORMED ' + r.malformed : ''}`);
        const text = p.bytes.toString('latin1');
        for (const cmd of text.split(/\*\d+\r\n/).filter(Boolean)) console.log('   ', JSON.stringify(cmd.slice(0, 160)));
        if (!alive(n.proc.pid)) {
          console.log(n.log.slice(-3000));
          process.exit(1);
        }
      }
    }
    if (b >= FROM) console.log(`batch ${b}: ${conns} connections replayed`);
  }
} finally {
  await cluster.stop();
}
