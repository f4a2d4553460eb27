/**
 * `raftis import`'s promises beyond loading data: a progress bar on a
 * terminal (a pseudo-terminal made by `script`, or --progress) and none
 * when stderr is a file or a pipe; the summary line's numbers; and RDB
 * files damaged in every way a file can be (truncated at several offsets,
 * a byte flipped in a value or in a type, a bad checksum, a bad signature
 * or version), each refused with a non-zero exit code and a message naming
 * the byte offset, and with nothing written to the cluster: the file is
 * read whole, checksum included, before the first write.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTimeout } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { RAFTIS_BIN, runRaftisCli, startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { q } from '../helpers/value-fingerprint.js';

let redis: RedisServer | undefined;
let raftis: RaftisProcess | undefined;
let src: RawClient;
let dst: RawClient;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftis-import-damaged-'));
const rdbDir = path.join(dir, 'redis');
fs.mkdirSync(rdbDir);
let rdb: Buffer;
let file: string;
/** The source's keys per database. */
const KEYS = { 0: 0, 2: 0 };

beforeAll(async () => {
  const [a, b] = await Promise.allSettled([startRedisServer(['--dir', rdbDir]), startRaftis()]);
  if (a.status === 'fulfilled') redis = a.value;
  if (b.status === 'fulfilled') raftis = b.value;
  if (a.status === 'rejected') throw a.reason;
  if (b.status === 'rejected') throw b.reason;
  src = await RawClient.connect(redis!.port);
  dst = await RawClient.connect(raftis!.port);
  // Enough keys for the progress bar to be drawn more than once, of several types.
  await src.call('EVAL', "for i = 1, 3000 do redis.call('SET', 'str:' .. i, string.rep('v', i % 50)) end", '0');
  await src.call('EVAL', "for i = 1, 200 do redis.call('HSET', 'hash:' .. i, 'f', i, 'g', 'x') redis.call('PEXPIRE', 'hash:' .. i, 3600000) end", '0');
  await src.call('RPUSH', 'list', ...Array.from({ length: 500 }, (_, i) => `item-${i}`));
  await src.call('ZADD', 'zset', '1', 'a', '2.5', 'b');
  await src.call('SADD', 'set', '1', '2', '3');
  await src.call('XADD', 'stream', '1-1', 'f', 'v');
  await src.call('SET', 'dmg:key', 'a value whose bytes get damaged');
  await src.call('SELECT', '2');
  await src.call('SET', 'in-db-2', 'x');
  await src.call('SELECT', '0');
  KEYS[0] = Number(await q(src, 'DBSIZE'));
  KEYS[2] = 1;
  expect(await src.call('SAVE')).toBe('+OK\r\n');
  file = path.join(rdbDir, 'dump.rdb');
  rdb = fs.readFileSync(file);
}, 60_000);

afterAll(async () => {
  src?.close();
  dst?.close();
  await Promise.allSettled([redis?.stop(), raftis?.destroy()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** DBSIZE of raftis's databases 0 and 2. */
async function sizes(): Promise<[number, number]> {
  const a = Number(await q(dst, 'DBSIZE'));
  await dst.call('SELECT', '2');
  const b = Number(await q(dst, 'DBSIZE'));
  await dst.call('SELECT', '0');
  return [a, b];
}

/** Runs `raftis import <file> --port <raftis>` with the given options; stdout and stderr apart. */
async function runImport(f: string, opts: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawn(process.execPath, [RAFTIS_BIN, 'import', f, '--port', String(raftis!.port), ...opts], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const t = setTimeout(() => p.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((r) => p.once('close', (c) => r(c)));
  clearTimeout(t);
  return { code, stdout, stderr };
}

/** A copy of the file changed by `edit`, written next to it. */
function damaged(name: string, edit: (b: Buffer) => Buffer): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, edit(Buffer.from(rdb)));
  return f;
}

const SUMMARY = /^imported (\d+) keys \((\d+) with a TTL\) and (\d+) function libraries into 127\.0\.0\.1:(\d+) \(databases ([\d, ]+)\) in [\d.]+ s \((\d+) keys\/s\); skipped (\d+) expired keys and (\d+) keys of other databases; (\d+) errors\n$/;

describe('damaged RDB files: a non-zero exit, the byte offset named, nothing imported', () => {
  const truncations: [string, (len: number) => number, RegExp][] = [
    ['inside the header', () => 7, /not an RDB file: no REDIS signature at byte 0/],
    ['right after the header', () => 9, /the file ends at byte 9, without the EOF marker \(opcode 255\)/],
    ['inside an auxiliary field', () => 20, /the file ends at byte 20, inside an auxiliary field starting at byte 9, which needs/],
    // Inside a known string value (half the file's length could fall exactly between two keys, whose message is another).
    ['in the middle', () => rdb.indexOf('a value whose bytes get damaged') + 5, /the file ends at byte (\d+), inside (a key of type \d+|the value of key '[^']+' \(type \d+, database 0\)) starting at byte (\d+), which needs/],
    ['before the EOF marker', (len) => len - 9, /the file ends at byte (\d+), without the EOF marker/],
    ['before the checksum', (len) => len - 8, /the file ends at byte (\d+), inside the file's CRC64 checksum starting at byte (\d+), which needs 8 bytes from byte (\d+)/],
    ['inside the checksum', (len) => len - 3, /the file ends at byte (\d+), inside the file's CRC64 checksum starting at byte (\d+), which needs 8 bytes/],
  ];
  for (const [what, at, msg] of truncations) {
    it(`truncated ${what}`, async () => {
      const cut = at(rdb.length);
      const res = await runImport(damaged(`cut-${cut}.rdb`, (b) => b.subarray(0, cut)), ['--replace']);
      expect(res.code, res.stderr).toBe(1);
      expect(res.stdout).toBe('');
      expect(res.stderr).toMatch(msg);
      const ends = /the file ends at byte (\d+)/.exec(res.stderr);
      if (ends) expect(Number(ends[1])).toBe(cut);
      const started = /starting at byte (\d+)/.exec(res.stderr);
      if (started) expect(Number(started[1])).toBeLessThan(cut);
      expect(res.stderr).toMatch(/; nothing was imported\n$/);
      expect(await sizes()).toEqual([0, 0]);
    }, 60_000);
  }

  it('a byte flipped inside a value: the checksum, at its offset', async () => {
    const at = rdb.indexOf('a value whose bytes get damaged') + 5;
    const res = await runImport(damaged('flip-value.rdb', (b) => ((b[at] = b[at]! ^ 0x20), b)));
    expect(res.code).toBe(1);
    const sumAt = rdb.length - 8;
    expect(res.stderr).toContain(`wrong RDB checksum: bytes 0-${sumAt - 1} have CRC64 `);
    expect(res.stderr).toContain(`at byte ${sumAt}: the file is damaged, somewhere the checksum cannot tell (all ${KEYS[0] + KEYS[2]} keys read as well-formed); nothing was imported`);
    expect(await sizes()).toEqual([0, 0]);
  }, 60_000);

  it("a key's type byte damaged: bad data in that key, at its record's offset, after the keys read before it", async () => {
    // A string key's record: type 0, the key's length, the key.
    const keyAt = rdb.indexOf('dmg:key');
    const typeAt = keyAt - 2;
    expect(rdb[typeAt]).toBe(0);
    const res = await runImport(damaged('flip-type.rdb', (b) => ((b[typeAt] = 63), b)));
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(new RegExp(`bad RDB data at byte \\d+ in the value of key 'dmg:key' \\(type 63, database 0\\) starting at byte ${typeAt}: .*\\(\\d+ keys were read whole before it, the last '[^']+'\\); nothing was imported\\n$`));
    expect(await sizes()).toEqual([0, 0]);
  }, 60_000);

  it('a damaged checksum, a bad signature, an RDB version raftis cannot read', async () => {
    const sum = await runImport(damaged('bad-sum.rdb', (b) => ((b[b.length - 2] = b[b.length - 2]! ^ 0xff), b)));
    expect(sum.code).toBe(1);
    expect(sum.stderr).toContain(`but the file says `);
    expect(sum.stderr).toContain(` at byte ${rdb.length - 8}: the file is damaged`);
    const magic = await runImport(damaged('bad-magic.rdb', (b) => (b.write('RODIS', 0, 'latin1'), b)));
    expect(magic.code).toBe(1);
    expect(magic.stderr).toContain('not an RDB file: no REDIS signature at byte 0 (the file starts "RODIS0010")');
    const version = await runImport(damaged('bad-version.rdb', (b) => (b.write('0011', 5, 'latin1'), b)));
    expect(version.code).toBe(1);
    expect(version.stderr).toContain(`can't handle RDB format version "0011" (bytes 5-8`);
    expect(await sizes()).toEqual([0, 0]);
  }, 60_000);
});

describe('progress and summary', () => {
  it('no progress output when stderr is not a terminal; the summary counts what was imported', async () => {
    const res = await runImport(file);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toBe('');
    const m = SUMMARY.exec(res.stdout);
    expect(m, res.stdout).not.toBeNull();
    const [, keys, ttl, fns, port, dbs, rate, expired, other, errors] = m!;
    expect(Number(keys)).toBe(KEYS[0] + KEYS[2]);
    expect(Number(ttl)).toBe(200);
    expect(Number(fns)).toBe(0);
    expect(Number(port)).toBe(raftis!.port);
    expect(dbs).toBe('0, 2');
    expect(Number(rate)).toBeGreaterThan(0);
    expect([expired, other, errors].map(Number)).toEqual([0, 0, 0]);
    expect(await sizes()).toEqual([KEYS[0], KEYS[2]]);
  }, 90_000);

  it('a progress bar on a (pseudo-)terminal, ending at 100%', async () => {
    const cmd = [process.execPath, RAFTIS_BIN, 'import', file, '--port', String(raftis!.port), '--replace'].map((a) => `'${a}'`).join(' ');
    const p = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((r) => p.once('close', (c) => r(c)));
    clearTimeout(t);
    expect(code, out).toBe(0);
    const total = KEYS[0] + KEYS[2];
    // Redrawn in place: carriage returns, a bar, and the last state at 100%.
    const frames = out.split('\r').filter((f) => f.startsWith('['));
    expect(frames.length, out).toBeGreaterThanOrEqual(2);
    expect(frames[0]).toMatch(/^\[-+\]\s+0%\s+0\/\d+ keys/);
    expect(frames.at(-1)).toMatch(new RegExp(`^\\[#+\\] 100%  ${total}/${total} keys  \\d+ keys/s\\x1b\\[K`));
    expect(out).toMatch(new RegExp(`imported ${total} keys \\(200 with a TTL\\)`));
  }, 90_000);

  it('--progress draws it into a pipe too; --quiet draws nothing', async () => {
    const forced = await runImport(file, ['--replace', '--progress']);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/\r\[#+\] 100% {2}\d+\/\d+ keys/);
    expect(forced.stderr.endsWith('\n')).toBe(true);
    const quiet = await withTimeout(runRaftisCli(['import', file, '--port', String(raftis!.port), '--replace', '--quiet', '--progress'], 60_000), 65_000);
    expect(quiet.code).toBe(0);
    expect(quiet.out).not.toContain('\r');
    expect(quiet.out).toMatch(SUMMARY);
  }, 90_000);
});
