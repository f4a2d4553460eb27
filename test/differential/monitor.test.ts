/**
 * MONITOR against redis-server: the same script on both, each watched by a
 * monitor connection; the lines the monitors get must be the same once the
 * time and the client's address are masked: which commands are shown (not
 * admin ones, not refused ones; a transaction's commands before its EXEC),
 * in which order, with arguments quoted and escaped as sdscatrepr does. Also
 * the replies around MONITOR itself: a second MONITOR gets none, inside
 * MULTI it fails, RESET ends it.
 */
import { describe, expect, it } from 'vitest';
import { useProcessDifferential } from '../helpers/process-differential.js';
import { RawClient } from '../helpers/raw-client.js';

const env = useProcessDifferential();

const SCRIPT = [
  ['SET', 'k', 'v'], ['GET', 'k'], ['GET'], ['NOSUCH'], ['CONFIG', 'GET', 'maxmemory'], ['SLOWLOG', 'LEN'],
  ['SET', 'quote"back\\slash', 'line\r\nbreak\ttab\x07\x08\x00\xff'], ['CLIENT', 'SETNAME', 'mon'],
  ['MULTI'], ['SET', 'a', '1'], ['INCR', 'a'], ['EXEC'],
  ['MULTI'], ['GET', 'a'], ['EXEC'],
  ['DEL', 'a', 'k'], ['MSET', 'x', '1', 'y', '2'], ['PING'], ['ECHO', 'done'],
];

/** Reads what a monitor connection got until `last` shows up (bounded). */
async function collect(m: RawClient, last: string): Promise<string[]> {
  const lines: string[] = [];
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const line = await m.next();
    lines.push(line.replace(/^\+\d+\.\d{6} \[0 [^\]]+\]/, '+<time> [0 <client>]'));
    if (line.includes(last)) return lines;
  }
  throw new Error(`no ${last} in ${JSON.stringify(lines)}`);
}

describe('MONITOR', () => {
  it('shows the commands redis-server shows, in its order and quoting', async () => {
    const got: string[][] = [];
    for (const port of [env.diff.redis.port, env.raftis.port]) {
      const m = await RawClient.connect(port);
      const c = await RawClient.connect(port);
      try {
        expect(await m.call('MONITOR')).toBe('+OK\r\n');
        for (const cmd of SCRIPT) await c.call(...cmd);
        got.push(await collect(m, '"done"'));
      } finally {
        m.close();
        c.close();
      }
    }
    expect(got[1]).toEqual(got[0]);
    expect(got[1]!.length).toBeGreaterThan(12);
    expect(got[1]).toContain('+<time> [0 <client>] "SET" "quote\\"back\\\\slash" "line\\r\\nbreak\\ttab\\a\\b\\x00\\xff"\r\n');
  });

  it('MONITOR twice, inside MULTI, and RESET, as redis-server answers them', async () => {
    const replies: string[][] = [];
    for (const port of [env.diff.redis.port, env.raftis.port]) {
      const c = await RawClient.connect(port);
      const out: string[] = [];
      try {
        out.push(await c.call('MULTI'), await c.call('MONITOR'), await c.call('EXEC'));
        out.push(await c.call('MONITOR'));
        // A second MONITOR is not answered (nor shown: it is an admin command): the next reply is PING's.
        c.sock.write('*1\r\n$7\r\nMONITOR\r\n');
        out.push(await c.call('PING'));
        out.push((await c.next()).replace(/^\+\d+\.\d{6} \[0 [^\]]+\]/, '+<time> [0 <client>]'));
        out.push(await c.call('MONITOR', 'x'));
        out.push(await c.call('PING'));
        out.push((await c.next()).replace(/^\+\d+\.\d{6} \[0 [^\]]+\]/, '+<time> [0 <client>]'));
        out.push(/flags=(\w+)/.exec(await c.call('CLIENT', 'INFO'))![1]!);
        await c.next(); // the monitor line of CLIENT INFO
        out.push(await c.call('RESET'));
        out.push(/flags=(\w+)/.exec(await c.call('CLIENT', 'INFO'))![1]!);
        out.push(await c.call('PING'));
      } finally {
        c.close();
      }
      replies.push(out);
    }
    expect(replies[1]).toEqual(replies[0]);
    expect(replies[1]!.slice(0, 6)).toEqual([
      '+OK\r\n',
      '+QUEUED\r\n',
      "*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n",
      '+OK\r\n',
      '+PONG\r\n',
      '+<time> [0 <client>] "PING"\r\n',
    ]);
  });
});

/** Scripts and functions: the commands they run are shown as `[<db> lua]`, after the EVAL/FCALL line, in the script's database. */
const SCRIPTED = [
  ['FUNCTION', 'FLUSH'],
  ['EVAL', "redis.call('set','k','v'); redis.call('select','2'); redis.call('set','k2','x'); return redis.pcall('get','k')", '0'],
  ['EVAL_RO', "return redis.call('get',KEYS[1])", '1', 'k'],
  ['EVAL', "#!lua flags=no-writes\nreturn redis.call('get',KEYS[1])", '1', 'k'],
  ['EVAL', "return redis.call('get',KEYS[1])", '1', 'k'],
  ['SCRIPT', 'LOAD', "return redis.call('hget',KEYS[1], 'quote\"\\n')"],
  ['EVALSHA', '3137bd6674cc48d63fc1fb053078beca5b4344c3', '1', 'k'],
  ['FUNCTION', 'LOAD', "#!lua name=monlib\nredis.register_function('f', function(k,a) return redis.call('set',k[1],a[1]) end)\nredis.register_function{function_name='g', callback=function(k) return redis.call('get',k[1]) end, flags={'no-writes'}}"],
  ['FCALL', 'f', '1', 'k', 'a"b'],
  ['FCALL_RO', 'g', '1', 'k'],
  ['FCALL', 'g', '1', 'k'],
  ['EVALSHA', 'ffffffffffffffffffffffffffffffffffffffff', '0'],
  ['FCALL', 'nosuchfunction', '0'],
  ['EVAL', "return redis.pcall('nosuch')", '0'],
  ['EVAL', "return redis.pcall('get')", '0'],
  ['EVAL', "return redis.pcall('config','get','x')", '0'],
  ['EVAL', "return redis.pcall('incr','k')", '0'],
  ['EVAL', "return {redis.call('ping'), redis.call('echo','e'), redis.call('time')[1] ~= nil}", '0'],
  ['ECHO', 'done'],
];

/** Scripts in a transaction: shown in database 3, the lua lines after EXEC in raftis (see the test). */
const SCRIPTED_MULTI = [
  ['SELECT', '3'],
  ['MULTI'], ['EVAL', "return redis.call('set','x','1')", '0'], ['SET', 'y', '2'], ['FCALL', 'f', '1', 'z', '3'], ['EXEC'],
  ['SELECT', '0'],
  ['ECHO', 'done'],
];

/** What a monitor gets while `cmds` run on another connection, time and client address masked (not `lua`). */
async function monitorScripted(port: number, cmds: readonly string[][]): Promise<string[]> {
  const m = await RawClient.connect(port);
  const c = await RawClient.connect(port);
  try {
    expect(await m.call('MONITOR')).toBe('+OK\r\n');
    for (const cmd of cmds) await c.call(...cmd);
    const lines: string[] = [];
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const line = await m.next();
      lines.push(line.replace(/^\+\d+\.\d{6} \[(\d+) [\d.:]+\]/, '+<time> [$1 <client>]').replace(/^\+\d+\.\d{6} /, '+<time> '));
      if (line.includes('"done"')) return lines;
    }
    throw new Error(`no "done" in ${JSON.stringify(lines)}`);
  } finally {
    m.close();
    c.close();
  }
}

describe('MONITOR and scripts', () => {
  it('shows the commands scripts and functions run as redis-server does', async () => {
    const got: string[][] = [];
    for (const port of [env.diff.redis.port, env.raftis.port]) {
      const c = await RawClient.connect(port);
      await c.call('FLUSHALL');
      c.close();
      got.push(await monitorScripted(port, SCRIPTED));
    }
    expect(got[1]).toEqual(got[0]);
    expect(got[1]).toContain('+<time> [2 lua] "set" "k2" "x"\r\n');
    expect(got[1]).toContain('+<time> [0 lua] "hget" "k" "quote\\"\\n"\r\n');
  });

  it('shows the commands of scripts in a transaction (after EXEC in raftis: the entry applies after EXEC is shown)', async () => {
    const got: string[][] = [];
    for (const port of [env.diff.redis.port, env.raftis.port]) got.push(await monitorScripted(port, SCRIPTED_MULTI));
    // redis-server shows each script's commands right after the EVAL/FCALL; raftis shows the transaction's
    // commands and EXEC when EXEC proposes the entry, the scripts' commands when it applies (docs/decisions.md).
    expect(got[0]).toContain('+<time> [3 lua] "set" "x" "1"\r\n');
    expect([...got[1]!].sort()).toEqual([...got[0]!].sort());
    expect(got[1]!.filter((l) => l.includes(' lua] '))).toEqual(got[0]!.filter((l) => l.includes(' lua] ')));
  });
});
