/**
 * A long script against redis-server 7.0.15, with busy-reply-threshold 100
 * on both: other clients get -BUSY (EVAL's or FUNCTION's wording) except for
 * the allow_busy commands, SCRIPT KILL / FUNCTION KILL stop a script that
 * has not written (its client gets Redis's "Script killed" error, then the
 * replies to what it pipelined behind it), -UNKILLABLE for one that wrote,
 * -NOTBUSY when none runs. On raftis the killable scripts run on the read
 * path (a cached, provably read-only script; a no-writes function); the one
 * that writes is a log entry.
 */
import { describe, expect, it } from 'vitest';
import { sha1hex } from '../../src/util/lua/vm.js';
import { useProcessDifferential } from '../helpers/process-differential.js';
import { untilBusy } from '../helpers/poll.js';
import { RawClient } from '../helpers/raw-client.js';

const env = useProcessDifferential();

const SPIN = 'while true do end';
const LIB = "#!lua name=busylib\nredis.register_function{function_name='spin', callback=function() while true do end end, flags={'no-writes'}}";
/** May write, but runs without writing until killed (a condition on a key it never meets). */
const WOULD_WRITE = "local i = 0 while true do i = i + 1 if redis.call('get', 'busy:never') then redis.call('set', 'busy:k', i) end end";
/** Writes, then runs long enough to be seen busy (and ends by itself: redis-server cannot be told to stop it but by SHUTDOWN NOSAVE). */
const WRITER = "redis.call('set', 'busy:w', '1') local i = 0 while i < 100000000 do i = i + 1 end return i";

function resp(argv: readonly string[]): string {
  let out = `*${argv.length}\r\n`;
  for (const a of argv) out += `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`;
  return out;
}


/** One scenario on one server: the replies, in order. */
async function scenario(port: number, run: (c1: RawClient, c2: RawClient, out: string[]) => Promise<void>): Promise<string[]> {
  const c1 = await RawClient.connect(port);
  const c2 = await RawClient.connect(port);
  const out: string[] = [];
  try {
    out.push(await c2.call('CONFIG', 'SET', 'busy-reply-threshold', '100'));
    await run(c1, c2, out);
  } finally {
    await c2.call('CONFIG', 'SET', 'busy-reply-threshold', '5000').catch(() => undefined);
    c1.close();
    c2.close();
  }
  return out;
}

async function both(run: (c1: RawClient, c2: RawClient, out: string[]) => Promise<void>): Promise<string[]> {
  const redis = await scenario(env.diff.redis.port, run);
  const raftis = await scenario(env.raftis.port, run);
  expect(raftis).toEqual(redis);
  return raftis;
}

describe('BUSY, SCRIPT KILL and FUNCTION KILL against redis-server', () => {
  it('a script: BUSY to others, the allow_busy commands, SCRIPT KILL, the caller\'s pipeline after the kill', async () => {
    const out = await both(async (c1, c2, out) => {
      out.push(await c2.call('SCRIPT', 'KILL'));
      out.push(await c2.call('FUNCTION', 'KILL'));
      out.push(await c1.call('SCRIPT', 'LOAD', SPIN));
      // The script, and a PING behind it on the same connection.
      const evalReply = c1.send(resp(['EVALSHA', sha1hex(SPIN), '0']) + resp(['PING']));
      out.push(await untilBusy(c2, 400));
      for (const cmd of [['GET', 'x'], ['SET', 'x', '1'], ['FUNCTION', 'KILL'], ['FUNCTION', 'STATS'], ['MULTI'], ['GET', 'x'], ['EXEC'], ['WATCH', 'x'], ['UNWATCH'], ['DISCARD'], ['INFO', 'server'], ['SHUTDOWN']]) {
        const r = await c2.call(...cmd);
        out.push(cmd[0] === 'INFO' ? r.slice(0, 5) : r);
      }
      out.push(await c2.call('SCRIPT', 'KILL'));
      out.push(await evalReply);
      out.push(await c1.next());
      out.push(await c2.call('PING'));
      out.push(await c2.call('SCRIPT', 'KILL'));
    });
    expect(out).toContain('-ERR Script killed by user with SCRIPT KILL... script: ' + sha1hex(SPIN) + ', on @user_script:1.\r\n');
    expect(out).toContain('-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n');
  });

  it('a function: FUNCTION KILL, and SCRIPT KILL answers BUSY', async () => {
    const out = await both(async (c1, c2, out) => {
      out.push(await c1.call('FUNCTION', 'LOAD', 'REPLACE', LIB));
      const fcall = c1.call('FCALL', 'spin', '0');
      out.push(await untilBusy(c2, 400));
      out.push(await c2.call('GET', 'x'));
      // running_script: name, command, duration_ms (its value differs).
      out.push((await c2.call('FUNCTION', 'STATS')).replace(/duration_ms\r\n:\d+/, 'duration_ms\r\n:N'));
      out.push(await c2.call('SCRIPT', 'KILL'));
      out.push(await c2.call('FUNCTION', 'KILL'));
      out.push(await fcall);
      out.push(await c2.call('PING'));
      out.push(await c2.call('FUNCTION', 'DELETE', 'busylib'));
    });
    expect(out).toContain('-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n');
    expect(out).toContain('-ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2.\r\n');
    expect(out.some((r) => r.includes('running_script\r\n*6\r\n$4\r\nname\r\n$4\r\nspin'))).toBe(true);
  });

  it('a script that may write but has not written yet: SCRIPT KILL stops it, and it wrote nothing', async () => {
    // On raftis it is a log entry: the leader proposes KillScript(N), and every replica stops it before any write.
    const out = await both(async (c1, c2, out) => {
      const evalReply = c1.call('EVAL', WOULD_WRITE, '0');
      out.push(await untilBusy(c2, 400));
      out.push(await c2.call('FUNCTION', 'KILL'));
      out.push(await c2.call('SCRIPT', 'KILL'));
      out.push(await evalReply);
      out.push(await c2.call('SCRIPT', 'KILL'));
      out.push(await c2.call('EXISTS', 'busy:k'));
      out.push(await c2.call('SET', 'busy:after', '1'));
      out.push(await c2.call('DEL', 'busy:after'));
    });
    expect(out).toContain('-ERR Script killed by user with SCRIPT KILL... script: ' + sha1hex(WOULD_WRITE) + ', on @user_script:1.\r\n');
  });

  it('a script that wrote is UNKILLABLE and runs to its end', async () => {
    const out = await both(async (c1, c2, out) => {
      const evalReply = c1.call('EVAL', WRITER, '0');
      out.push(await untilBusy(c2, 400));
      out.push(await c2.call('SCRIPT', 'KILL'));
      out.push(await c2.call('FUNCTION', 'KILL'));
      out.push(await evalReply);
      out.push(await c2.call('GET', 'busy:w'));
      out.push(await c2.call('DEL', 'busy:w'));
    });
    expect(out).toContain(
      '-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n',
    );
  });
});
