/**
 * Numbered databases against redis-server: the one-connection scripts of
 * databases-scripts.ts, then scenarios with several connections run on both
 * servers whose outcomes must be the same (WATCH across databases, SWAPDB
 * and FLUSHDB touching WATCHed keys, blocking pops per database, CLIENT
 * LIST's db=, MONITOR's [db addr], the database a transaction leaves its
 * client in).
 */
import { describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.js';
import { useProcessDifferential } from '../helpers/process-differential.js';
import { untilBlocked, within } from '../helpers/poll.js';
import { databasesScripts } from './databases-scripts.js';

const env = useProcessDifferential();


type Scenario = (port: number, proto: 2 | 3) => Promise<string[]>;

/** Runs a scenario with fresh connections (FLUSHALL first) and closes them afterwards. */
function scenario(body: (conn: () => Promise<RawClient>) => Promise<string[]>): Scenario {
  return async (port, proto) => {
    const opened: RawClient[] = [];
    const connect = async (): Promise<RawClient> => {
      const c = await RawClient.connect(port);
      opened.push(c);
      if (proto === 3) await c.call('HELLO', '3');
      return c;
    };
    try {
      const admin = await connect();
      await untilBlocked(admin, 0);
      await admin.call('FLUSHALL');
      return await body(connect);
    } finally {
      for (const c of opened) c.close();
    }
  };
}

/** A field of a CLIENT INFO / CLIENT LIST line. */
function field(line: string, name: string): string {
  return new RegExp(`(?:^|[ \\n])${name}=([^ ]*)`).exec(line)?.[1] ?? `no ${name}=`;
}

const scenarios: Record<string, Scenario> = {
  'a WATCHed key in db 1 is not touched by a write to the same name in db 0': scenario(async (conn) => {
    const a = await conn();
    const b = await conn();
    const out = [await a.call('SELECT', '1'), await a.call('SET', 'k', 'v1'), await a.call('WATCH', 'k')];
    out.push(await b.call('SET', 'k', 'v0'));
    out.push(await a.call('MULTI'), await a.call('SET', 'k', 'mine'), await a.call('EXEC'));
    // The same name in the same database: the transaction fails.
    out.push(await a.call('WATCH', 'k'));
    out.push(await b.call('SELECT', '1'), await b.call('SET', 'k', 'theirs'));
    out.push(await a.call('MULTI'), await a.call('SET', 'k', 'mine2'), await a.call('EXEC'), await a.call('GET', 'k'));
    return out;
  }),
  'SWAPDB and FLUSHDB touch the WATCHed keys of their databases only': scenario(async (conn) => {
    const a = await conn();
    const b = await conn();
    const out: string[] = [];
    // SWAPDB 0 1 touches a key watched in db 1.
    out.push(await a.call('SELECT', '1'), await a.call('SET', 'k', '1'), await a.call('WATCH', 'k'));
    out.push(await b.call('SET', 'k', '0'), await b.call('SWAPDB', '0', '1'));
    out.push(await a.call('MULTI'), await a.call('GET', 'k'), await a.call('EXEC'));
    // SWAPDB of two other databases does not.
    out.push(await a.call('WATCH', 'k'), await b.call('SWAPDB', '4', '5'));
    out.push(await a.call('MULTI'), await a.call('GET', 'k'), await a.call('EXEC'));
    // FLUSHDB in another database does not; in the watched one it does.
    out.push(await a.call('WATCH', 'k'), await b.call('SELECT', '2'), await b.call('SET', 'x', '1'), await b.call('FLUSHDB'));
    out.push(await a.call('MULTI'), await a.call('GET', 'k'), await a.call('EXEC'));
    out.push(await a.call('WATCH', 'k'), await b.call('SELECT', '1'), await b.call('FLUSHDB'));
    out.push(await a.call('MULTI'), await a.call('GET', 'k'), await a.call('EXEC'));
    // A watched key that exists in neither database is no change (Redis 7 looks before the flush or the swap).
    out.push(await a.call('WATCH', 'ghost'), await b.call('SELECT', '1'), await b.call('SET', 'other', '1'), await b.call('FLUSHDB'));
    out.push(await a.call('MULTI'), await a.call('GET', 'ghost'), await a.call('EXEC'));
    out.push(await a.call('WATCH', 'ghost'), await b.call('SWAPDB', '1', '6'));
    out.push(await a.call('MULTI'), await a.call('GET', 'ghost'), await a.call('EXEC'));
    // …but one that the swap brings in is.
    out.push(await b.call('SELECT', '6'), await b.call('SET', 'ghost', 'here'));
    out.push(await a.call('WATCH', 'ghost'), await b.call('SWAPDB', '1', '6'));
    out.push(await a.call('MULTI'), await a.call('GET', 'ghost'), await a.call('EXEC'));
    // FLUSHALL touches a watched key that exists in any database.
    out.push(await a.call('WATCH', 'ghost'), await b.call('FLUSHALL'));
    out.push(await a.call('MULTI'), await a.call('GET', 'ghost'), await a.call('EXEC'));
    // MOVE touches the key in both databases.
    out.push(await a.call('SET', 'm', '1'), await a.call('WATCH', 'm'), await b.call('SELECT', '3'), await b.call('SET', 'm', 'x'));
    out.push(await a.call('MULTI'), await a.call('GET', 'm'), await a.call('EXEC'));
    out.push(await a.call('WATCH', 'm'), await b.call('MOVE', 'm', '1'));
    out.push(await a.call('MULTI'), await a.call('GET', 'm'), await a.call('EXEC'));
    return out;
  }),
  'a BLPOP in db 2 is served by a push in db 2 only': scenario(async (conn) => {
    const a = await conn();
    const b = await conn();
    await a.call('SELECT', '2');
    const popped = a.call('BLPOP', 'q', '0');
    const out = [await within(popped, 150)];
    await untilBlocked(b, 1);
    out.push(await b.call('RPUSH', 'q', 'in-db0'));
    out.push(await within(popped, 200));
    out.push(await b.call('SELECT', '2'), await b.call('RPUSH', 'q', 'in-db2'));
    out.push(await popped);
    out.push(await b.call('LLEN', 'q'), await b.call('SELECT', '0'), await b.call('LRANGE', 'q', '0', '-1'));
    // A pop parked in db 3 is served when SWAPDB brings a list there.
    await a.call('SELECT', '3');
    const swapped = a.call('BRPOP', 'q', '0');
    out.push(await within(swapped, 150));
    await untilBlocked(b, 1);
    out.push(await b.call('SWAPDB', '0', '3'));
    out.push(await swapped, await b.call('SELECT', '3'), await b.call('LLEN', 'q'));
    return out;
  }),
  "CLIENT LIST and CLIENT INFO show the client's database": scenario(async (conn) => {
    const a = await conn();
    const b = await conn();
    const out: string[] = [];
    const id = (await a.call('CLIENT', 'ID')).replace(/^:|\r\n$/g, '');
    out.push(field(await a.call('CLIENT', 'INFO'), 'db'));
    await a.call('SELECT', '5');
    out.push(field(await a.call('CLIENT', 'INFO'), 'db'));
    out.push(field(await b.call('CLIENT', 'LIST', 'ID', id), 'db'));
    await a.call('MULTI');
    await a.call('SELECT', '9');
    out.push(await a.call('EXEC'));
    out.push(field(await b.call('CLIENT', 'LIST', 'ID', id), 'db'));
    out.push(await a.call('RESET'));
    out.push(field(await a.call('CLIENT', 'INFO'), 'db'));
    return out;
  }),
  'MONITOR shows the database a command ran in': scenario(async (conn) => {
    const m = await conn();
    const a = await conn();
    const out = [await m.call('MONITOR')];
    await a.call('SELECT', '2');
    await a.call('SET', 'k', 'v');
    await a.call('GET', 'k');
    await a.call('SELECT', '0');
    await a.call('SET', 'k', 'v');
    await a.call('MULTI');
    await a.call('SELECT', '4');
    await a.call('SET', 'k', 'w');
    await a.call('EXEC');
    for (let i = 0; i < 9; i++) {
      const line = await within(m.next(), 2000);
      // `+<time> [<db> <addr>] "cmd" …`: the time and the client's port differ.
      out.push(line.replace(/^[+>]?[^[]*\[(\d+) [^\]]*\]/, '[$1]').replace(/^>\d+\r\n\$\d+\r\n\S*/, ''));
    }
    return out;
  }),
};

describe('numbered databases vs redis-server', () => {
  env.itRunsScripts(databasesScripts);

  for (const [name, run] of Object.entries(scenarios)) {
    for (const proto of [2, 3] as const) {
      it(`${name} (RESP${proto})`, async () => {
        const [expected, got] = await Promise.all([run(env.diff.redis.port, proto), run(env.raftis.port, proto)]);
        expect(got).toEqual(expected);
      });
    }
  }

  it('CONFIG GET databases is 16 and cannot be set', async () => {
    const [redis, raftis] = await env.pair();
    for (const cmd of [['CONFIG', 'GET', 'databases'], ['CONFIG', 'SET', 'databases', '4']]) {
      expect(await raftis.call(...cmd)).toBe(await redis.call(...cmd));
    }
    expect(await raftis.call('CONFIG', 'GET', 'databases')).toBe('*2\r\n$9\r\ndatabases\r\n$2\r\n16\r\n');
  });
});
