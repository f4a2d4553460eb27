/**
 * Parameters read at start-up, side by side with redis-server 7.0.15:
 * pidfile (the process id and a newline, written once listening, removed at
 * shutdown) and tcp-backlog (the client port's listen() backlog, as `ss`
 * shows it for a listening socket: Send-Q), shutdown-on-sigterm /
 * shutdown-on-sigint (`save` saves before stopping — redis-server its
 * dump.rdb, raftis a snapshot — even with no save points; the default does not),
 * unixsocket / unixsocketperm (clients on a Unix socket with that mode, `<path>:0`
 * and flag U in CLIENT LIST, the file removed at shutdown).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';
import { RawClient } from '../helpers/raw-client.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-startup-params-'));
const started: (RedisServer | RaftisProcess)[] = [];
afterAll(async () => {
  for (const s of started) await ('destroy' in s ? s.destroy() : s.stop());
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Polls for a condition within a bound. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The listen backlog of the socket listening on 127.0.0.1:port (ss's Send-Q for a listening socket). */
function backlogOf(port: number): string {
  const out = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' });
  const line = out.split('\n').find((l) => l.includes(`127.0.0.1:${port}`));
  if (line === undefined) throw new Error(`nothing listens on ${port}: ${out}`);
  return line.trim().split(/\s+/)[2]!;
}

describe('start-up parameters', () => {
  it('pidfile: the pid and a newline once listening, removed at shutdown', async () => {
    const seen: string[][] = [];
    const redisPid = path.join(tmp, 'redis.pid');
    const redis = await startRedisServer(['--pidfile', redisPid]);
    started.push(redis);
    const raftisPid = path.join(tmp, 'raftis.pid');
    const raftis = await startRaftis({ args: ['--pidfile', raftisPid] });
    started.push(raftis);
    for (const [file, pid, stop] of [
      [redisPid, redis.proc.pid!, async () => void redis.proc.kill('SIGTERM')],
      [raftisPid, raftis.proc.pid!, async () => void (await raftis.stop())],
    ] as const) {
      await until(() => fs.existsSync(file), file);
      const got = [fs.readFileSync(file, 'utf8').replace(String(pid), '<pid>')];
      await stop();
      await until(() => !fs.existsSync(file), `${file} removed`);
      got.push(`removed ${!fs.existsSync(file)}`);
      seen.push(got);
    }
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[0]).toEqual(['<pid>\n', 'removed true']);
  });

  it('tcp-backlog: the client port listens with that backlog', async () => {
    const redis = await startRedisServer(['--tcp-backlog', '37']);
    started.push(redis);
    const raftis = await startRaftis({ args: ['--tcp-backlog', '37'] });
    started.push(raftis);
    expect(backlogOf(raftis.port)).toBe(backlogOf(redis.port));
    expect(backlogOf(redis.port)).toBe('37');
  });

  it('shutdown-on-sigterm / shutdown-on-sigint save: a save before stopping, none by default', async () => {
    const outcomes: string[][] = [[], []];
    for (const [param, signal] of [
      ['shutdown-on-sigterm', 'SIGTERM'],
      ['shutdown-on-sigint', 'SIGINT'],
    ] as const) {
      for (const flags of ['save', 'default', 'nosave']) {
        const dir = fs.mkdtempSync(path.join(tmp, 'redis-dir-'));
        const redis = await startRedisServer([`--${param}`, flags, '--dir', dir]);
        started.push(redis);
        const rc = await RawClient.connect(redis.port);
        expect(await rc.call('SET', 'k', 'v')).toBe('+OK\r\n');
        rc.close();
        const exited = new Promise((r) => redis.proc.once('exit', r));
        redis.proc.kill(signal);
        await exited;
        outcomes[0]!.push(`${param} ${flags}: saved ${fs.existsSync(path.join(dir, 'dump.rdb'))}`);

        const raftis = await startRaftis({ args: [`--${param}`, flags] });
        started.push(raftis);
        const fc = await RawClient.connect(raftis.port);
        expect(await fc.call('SET', 'k', 'v')).toBe('+OK\r\n');
        fc.close();
        const gone = new Promise((r) => raftis.proc.once('exit', r));
        raftis.proc.kill(signal);
        await gone;
        const snaps = path.join(raftis.dir, 'snapshots');
        outcomes[1]!.push(`${param} ${flags}: saved ${fs.existsSync(snaps) && fs.readdirSync(snaps).length > 0}`);
      }
    }
    expect(outcomes[1]).toEqual(outcomes[0]);
    expect(outcomes[0]).toEqual([
      'shutdown-on-sigterm save: saved true',
      'shutdown-on-sigterm default: saved false',
      'shutdown-on-sigterm nosave: saved false',
      'shutdown-on-sigint save: saved true',
      'shutdown-on-sigint default: saved false',
      'shutdown-on-sigint nosave: saved false',
    ]);
  });

  it('unixsocket / unixsocketperm: clients on a Unix socket with that mode, removed at shutdown', async () => {
    const ask = (file: string, cmds: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const s = net.connect(file);
        let got = '';
        s.on('data', (d) => {
          got += d.toString('latin1');
          // PING's reply, then CLIENT INFO's bulk string.
          if (/^\+PONG\r\n\$\d+\r\n[^]*\r\n$/.test(got)) {
            s.destroy();
            resolve(got);
          }
        });
        s.on('error', reject);
        s.write(cmds);
      });
    const seen: string[][] = [];
    const redisSock = path.join(tmp, 'redis.sock');
    const redis = await startRedisServer(['--unixsocket', redisSock, '--unixsocketperm', '700']);
    started.push(redis);
    const raftisSock = path.join(tmp, 'raftis.sock');
    // A file left at the path (a crashed server's socket) is replaced.
    fs.writeFileSync(raftisSock, '');
    const raftis = await startRaftis({ args: ['--unixsocket', raftisSock, '--unixsocketperm', '700'] });
    started.push(raftis);
    for (const [file, port, stop] of [
      [redisSock, redis.port, async () => void redis.proc.kill('SIGTERM')],
      [raftisSock, raftis.port, async () => void (await raftis.stop())],
    ] as const) {
      await until(() => fs.existsSync(file), file);
      // The mode as given, read in octal.
      const c = await RawClient.connect(port);
      seen.push([await c.call('CONFIG', 'GET', 'unixsocketperm')]);
      c.close();
      const got = [`mode ${(fs.statSync(file).mode & 0o777).toString(8)} socket ${fs.statSync(file).isSocket()}`];
      const reply = await ask(file, 'PING\r\nCLIENT INFO\r\n');
      for (const field of ['addr', 'laddr', 'flags']) got.push(`${field}=${new RegExp(` ${field}=(\\S*) `).exec(reply)![1]!.replace(file, '<sock>')}`);
      await stop();
      await until(() => !fs.existsSync(file), `${file} removed`);
      got.push('removed');
      seen.push(got);
    }
    expect(seen[2]).toEqual(seen[0]);
    expect(seen[0]).toEqual(['*2\r\n$14\r\nunixsocketperm\r\n$3\r\n700\r\n']);
    expect(seen[3]).toEqual(seen[1]);
    expect(seen[1]).toEqual(['mode 700 socket true', 'addr=<sock>:0', 'laddr=<sock>:0', 'flags=U', 'removed']);
  });
});
