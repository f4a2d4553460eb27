/**
 * ACL users, AUTH and requirepass against redis-server 7.0.15, byte for
 * byte: ACL SETUSER's modifiers and errors, GETUSER in RESP2 and RESP3,
 * LIST, CAT, DRYRUN, LOG, GENPASS, HELP; AUTH / HELLO AUTH / NOAUTH /
 * WRONGPASS with CONFIG SET requirepass; NOPERM for commands, keys and
 * channels, at MULTI queue time and inside scripts; DELUSER closing the
 * deleted user's connections. Each test undoes what it set on both servers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.js';
import { sameReply as same, useProcessDifferential } from '../helpers/process-differential.js';

const env = useProcessDifferential();

/** Fresh RESP2 connections to redis-server and raftis (closed after the test). */
const opened: RawClient[] = [];
async function pair(proto: 2 | 3 = 2): Promise<[RawClient, RawClient]> {
  const r = await RawClient.connect(env.diff.redis.port);
  const f = await RawClient.connect(env.raftis.port);
  opened.push(r, f);
  if (proto === 3) {
    await r.call('HELLO', '3');
    await f.call('HELLO', '3');
  }
  return [r, f];
}

/** Both servers back to the default user alone, without a password, and an empty ACL LOG. */
async function cleanup(): Promise<void> {
  for (const port of [env.diff.redis.port, env.raftis.port]) {
    const c = await RawClient.connect(port);
    await c.call('AUTH', 'default', 'secret');
    await c.call('CONFIG', 'SET', 'requirepass', '');
    await c.call('ACL', 'SETUSER', 'default', 'reset', 'on', 'nopass', '~*', '&*', '+@all');
    for (const u of ['alice', 'bob', 'carol', 'sel', 'u1']) await c.call('ACL', 'DELUSER', u);
    await c.call('ACL', 'LOG', 'RESET');
    c.close();
  }
}

afterEach(async () => {
  for (const c of opened.splice(0)) c.close();
  await cleanup();
});

describe('ACL SETUSER and what describes users', () => {
  it('answers every modifier and error as redis-server', async () => {
    const [r, f] = await pair();
    const cases: string[][] = [
      ['ACL', 'SETUSER', 'alice', 'bogus'],
      ['ACL', 'SETUSER', 'alice', '+nosuch'],
      ['ACL', 'SETUSER', 'alice', '-@nosuch'],
      ['ACL', 'SETUSER', 'alice', '#abc'],
      ['ACL', 'SETUSER', 'alice', '!abc'],
      ['ACL', 'SETUSER', 'alice', '<nop'],
      ['ACL', 'SETUSER', 'alice', '('],
      ['ACL', 'SETUSER', 'alice', 'on', '(~x'],
      ['ACL', 'SETUSER', 'alice', '(~x bogus)'],
      ['ACL', 'SETUSER', 'alice', 'allkeys', '~a'],
      ['ACL', 'SETUSER', 'alice', 'allchannels', '&b'],
      ['ACL', 'SETUSER', 'alice', '%X~a'],
      ['ACL', 'SETUSER', 'alice', '%~a'],
      ['ACL', 'SETUSER', 'alice', '+config|get|x'],
      ['ACL', 'SETUSER', 'alice', '+get|'],
      ['ACL', 'SETUSER', 'a b'],
      ['ACL', 'GETUSER', 'alice'],
      ['ACL', 'SETUSER', 'alice'],
      ['ACL', 'GETUSER', 'alice'],
      ['ACL', 'SETUSER', 'alice', 'on', '>p1', '>p2', '<p1', '#' + 'a'.repeat(64), '!' + 'a'.repeat(64), '~k*', '%R~r*', '%W~w*', '%R~w*', '&ch*', '-@all', '+get'],
      ['ACL', 'GETUSER', 'alice'],
      ['ACL', 'SETUSER', 'alice', 'resetpass', 'nopass', 'skip-sanitize-payload', 'resetkeys', 'allkeys', 'resetchannels'],
      ['ACL', 'GETUSER', 'alice'],
      ['ACL', 'SETUSER', 'alice', 'reset'],
      ['ACL', 'GETUSER', 'alice'],
      ['ACL', 'SETUSER', 'bob', 'on', 'nopass', '+@all', '-@dangerous'],
      ['ACL', 'SETUSER', 'carol', '+select|0', '+config|get'],
      ['ACL', 'SETUSER', 'sel', '~a*', '(~b* +get)', '(', '%R~c*', '+@read', ')'],
      ['ACL', 'GETUSER', 'sel'],
      ['ACL', 'SETUSER', 'sel', 'clearselectors'],
      ['ACL', 'GETUSER', 'sel'],
      ['ACL', 'GETUSER', 'default'],
      ['ACL', 'GETUSER', 'nosuch'],
      ['ACL', 'USERS'],
      ['ACL', 'WHOAMI'],
      ['ACL', 'DELUSER', 'default'],
      ['ACL', 'DELUSER', 'nosuch', 'alice'],
      ['ACL', 'USERS'],
      ['ACL', 'CAT'],
      ['ACL', 'CAT', 'nosuch'],
      ['ACL', 'GENPASS', '0'],
      ['ACL', 'GENPASS', '5000'],
      ['ACL', 'GENPASS', 'abc'],
      ['ACL', 'LOG', 'abc'],
      ['ACL', 'LOG', '-1'],
      ['ACL', 'DRYRUN', 'nobody', 'get', 'x'],
      ['ACL', 'DRYRUN', 'bob', 'nosuch'],
      ['ACL', 'DRYRUN', 'bob', 'get'],
      ['ACL', 'DRYRUN', 'bob', 'get', 'x'],
      ['ACL', 'DRYRUN', 'bob', 'flushall'],
      ['ACL', 'DRYRUN', 'carol', 'select', '0'],
      ['ACL', 'DRYRUN', 'carol', 'select', '1'],
      ['ACL', 'DRYRUN', 'carol', 'config', 'get', 'x'],
      ['ACL', 'DRYRUN', 'carol', 'config', 'set', 'x', 'y'],
      ['ACL', 'DRYRUN', 'sel', 'get', 'b1'],
      ['ACL', 'HELP'],
      ['ACL'],
      ['ACL', 'NOSUCH'],
    ];
    for (const proto of [2, 3] as const) {
      if (proto === 3) {
        await r.call('HELLO', '3');
        await f.call('HELLO', '3');
      }
      for (const c of cases) await same(r, f, ...c);
      for (const u of ['alice', 'bob', 'carol', 'sel']) await same(r, f, 'ACL', 'DELUSER', u);
    }
  });

  it('describes users as ACL LIST and GETUSER do, single commands in any order', async () => {
    const [r, f] = await pair(3);
    const users: string[][] = [
      ['alice', 'on', '>p', '~k*', '%R~r*', '&ch*', '+get', '+@hash', '-hset', '+config|get', '(~sel* +set)'],
      ['bob', 'reset', '+@all', '-@dangerous', '+flushall', '-get', '+config', '-config|set'],
      ['carol', 'reset', '+config|get', '+config'],
      ['u1', 'reset', '+get', '+set', '+del', '-set', '+@string', '-get', '+select|0'],
    ];
    // redis-server emits single-command rules in its command table's hash order, which changes with every process.
    const norm = (s: string): string => s.split(' ').sort().join(' ');
    for (const u of users) await same(r, f, 'ACL', 'SETUSER', ...u);
    const [lr, lf] = [await r.call('ACL', 'LIST'), await f.call('ACL', 'LIST')];
    expect(lf.split('\r\n').map(norm)).toEqual(lr.split('\r\n').map(norm));
    for (const [name] of users) {
      const [gr, gf] = [await r.call('ACL', 'GETUSER', name!), await f.call('ACL', 'GETUSER', name!)];
      expect(gf.split('\r\n').map(norm), name).toEqual(gr.split('\r\n').map(norm));
    }
  });

  it('lists every command of a category as ACL CAT does (raftis adds only its own RAFT.* and CLIENT SETINFO)', async () => {
    const [r, f] = await pair();
    for (const cat of ['keyspace', 'string', 'dangerous', 'admin', 'pubsub', 'scripting', 'connection']) {
      const lines = (s: string): string[] => s.split('\r\n').filter((l) => l !== '' && !l.startsWith('$') && !l.startsWith('*')).sort();
      const [cr, cf] = [lines(await r.call('ACL', 'CAT', cat)), lines(await f.call('ACL', 'CAT', cat))];
      expect(cf.filter((c) => !c.startsWith('raft.') && c !== 'client|setinfo'), cat).toEqual(cr);
    }
  });

  it('GENPASS gives bits/4 hex characters', async () => {
    const [, f] = await pair();
    expect(await f.call('ACL', 'GENPASS')).toMatch(/^\$64\r\n[0-9a-f]{64}\r\n$/);
    expect(await f.call('ACL', 'GENPASS', '5')).toMatch(/^\$2\r\n[0-9a-f]{2}\r\n$/);
  });
});

describe('authentication', () => {
  it('requirepass: NOAUTH, AUTH, WRONGPASS, HELLO AUTH, RESET, as redis-server', async () => {
    const [r0, f0] = await pair();
    await same(r0, f0, 'AUTH', 'x');
    await same(r0, f0, 'CONFIG', 'SET', 'requirepass', 'secret');
    // A client connected before the password was set stays authenticated (Redis's c->authenticated).
    await same(r0, f0, 'PING');
    await same(r0, f0, 'CONFIG', 'GET', 'requirepass');
    const [r, f] = await pair();
    for (const c of [
      ['PING'],
      ['GET', 'k'],
      ['NOSUCH'],
      ['MULTI'],
      ['HELLO', '3'],
      ['HELLO', '2', 'SETNAME', 'x'],
      ['AUTH', 'wrong'],
      ['AUTH', 'default', 'wrong'],
      ['AUTH', 'nobody', 'secret'],
      ['AUTH', 'a', 'b', 'c'],
      ['HELLO', '3', 'AUTH', 'default', 'wrong'],
      ['HELLO', '2', 'AUTH', 'default', 'secret', 'SETNAME', 'me'],
      ['CLIENT', 'GETNAME'],
      ['ACL', 'WHOAMI'],
      ['RESET'],
      ['GET', 'k'],
      ['AUTH', 'secret'],
      ['GET', 'k'],
      ['ACL', 'SETUSER', 'alice', 'on', '>apw', '+@all', '~*'],
      ['AUTH', 'alice', 'apw'],
      ['ACL', 'WHOAMI'],
      ['HELLO', '3', 'AUTH', 'alice', 'apw'],
      ['RESET'],
      ['ACL', 'WHOAMI'],
      ['PING'],
    ]) {
      if (c[0] !== 'HELLO') {
        await same(r, f, ...c);
        continue;
      }
      // Connection ids differ between the servers.
      const id = (s: string): string => s.replace(/id\r\n:\d+/, 'id\r\n:N');
      expect(id(await f.call(...c)), c.join(' ')).toBe(id(await r.call(...c)));
    }
    const [lr, lf] = [await r0.call('ACL', 'LOG'), await f0.call('ACL', 'LOG')];
    const fields = (s: string): string[] => s.split('\r\n').filter((l, i, a) => !/^(age-seconds|client-info)$/.test(a[i - 2] ?? '') && !l.startsWith(','));
    // Same entries (count, reason, context, object, username); ages and client lines differ.
    expect(fields(lf).filter((l) => !l.startsWith('$') && !l.includes('id='))).toEqual(fields(lr).filter((l) => !l.startsWith('$') && !l.includes('id=')));
    expect(lf).toContain('reason\r\n$4\r\nauth');
  });

  it('CLIENT LIST shows the user; CLIENT KILL USER closes its connections', async () => {
    const [r0, f0] = await pair();
    await same(r0, f0, 'ACL', 'SETUSER', 'alice', 'on', '>apw', '+@all', '~*', '&*');
    const [r, f] = await pair();
    await same(r, f, 'AUTH', 'alice', 'apw');
    expect(await f.call('CLIENT', 'INFO')).toContain(' user=alice ');
    await same(r0, f0, 'CLIENT', 'KILL', 'USER', 'nobody');
    await same(r0, f0, 'CLIENT', 'KILL', 'USER', 'alice');
    expect(await f.closedPromise()).toBe(true);
  });

  it('DELUSER closes the connections of the deleted user; a changed user is checked again at its next command', async () => {
    const [r0, f0] = await pair();
    await same(r0, f0, 'ACL', 'SETUSER', 'alice', 'on', '>apw', '+@all', '~*', '&*');
    const [r, f] = await pair();
    await same(r, f, 'AUTH', 'alice', 'apw');
    await same(r, f, 'SET', 'k', 'v');
    await same(r0, f0, 'ACL', 'SETUSER', 'alice', '-set');
    await same(r, f, 'SET', 'k', 'v');
    await same(r, f, 'GET', 'k');
    await same(r0, f0, 'ACL', 'DELUSER', 'alice');
    expect(await f.closedPromise()).toBe(true);
    expect(await r.closedPromise()).toBe(true);
  });
});

describe('EXEC after the rules changed', () => {
  it('answers NOPERM for each queued command the user may no longer run, and runs the others', async () => {
    const [r0, f0] = await pair();
    await same(r0, f0, 'ACL', 'SETUSER', 'alice', 'on', '>apw', '+@all', '~*', '&*');
    const [r, f] = await pair();
    for (const c of [['AUTH', 'alice', 'apw'], ['MULTI'], ['SET', 'e1', 'v'], ['GET', 'e1'], ['SET', 'other', 'v'], ['PUBLISH', 'ch', 'm']]) await same(r, f, ...c);
    await same(r0, f0, 'ACL', 'SETUSER', 'alice', '-get', 'resetkeys', '~e*', 'resetchannels');
    const exec = await same(r, f, 'EXEC');
    expect(exec).toContain('-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to touch the specified keys\r\n');
    expect(exec.startsWith('*4\r\n+OK\r\n-NOPERM')).toBe(true);
    await same(r, f, 'MULTI');
    await same(r, f, 'GET', 'e1');
    await same(r, f, 'EXEC');
    await same(r0, f0, 'DEL', 'e1');
  });
});

describe('pub/sub clients of a changed user', () => {
  it('are closed when SETUSER takes away a channel they are subscribed to, kept otherwise', async () => {
    const [r0, f0] = await pair();
    await same(r0, f0, 'ACL', 'SETUSER', 'alice', 'on', '>apw', '+@all', '~*', 'resetchannels', '&ch*', '&news');
    const [r, f] = await pair();
    await same(r, f, 'AUTH', 'alice', 'apw');
    await same(r, f, 'SUBSCRIBE', 'ch1', 'news');
    await same(r0, f0, 'ACL', 'SETUSER', 'alice', '&more');
    await same(r0, f0, 'PUBLISH', 'news', 'still here');
    expect(await f.next()).toBe(await r.next());
    await same(r0, f0, 'ACL', 'SETUSER', 'alice', 'resetchannels', '&ch*');
    expect(await f.closedPromise()).toBe(true);
    expect(await r.closedPromise()).toBe(true);
  });
});

describe('permissions', () => {
  it('NOPERM for commands, keys and channels; MULTI checks at queue time; scripts check redis.call', async () => {
    const [r0, f0] = await pair();
    await same(r0, f0, 'ACL', 'SETUSER', 'carol', 'on', '>pw', '~c*', '%R~r*', '&x*', '+get', '+set', '+eval', '+evalsha', '+multi', '+exec', '+publish', '+subscribe', '+psubscribe', '+ping');
    const [r, f] = await pair();
    for (const c of [
      ['AUTH', 'carol', 'pw'],
      ['GET', 'c1'],
      ['GET', 'r1'],
      ['SET', 'r1', 'v'],
      ['GET', 'zz'],
      ['DEL', 'c1'],
      ['CONFIG', 'GET', 'maxmemory'],
      ['PUBLISH', 'x1', 'm'],
      ['PUBLISH', 'y1', 'm'],
      ['EVAL', "return redis.call('set','c1','v')", '0'],
      ['EVAL', "return redis.call('del','c1')", '0'],
      ['EVAL', "return redis.call('get','zz')", '0'],
      ['EVAL', "return redis.pcall('get','zz')", '0'],
      ['EVAL', "return redis.call('publish','y','m')", '0'],
      ['MULTI'],
      ['SET', 'c2', 'v'],
      ['SET', 'zz', 'v'],
      ['DEL', 'c2'],
      ['EXEC'],
      ['GET', 'c2'],
      ['SUBSCRIBE', 'y1'],
      ['PSUBSCRIBE', 'x*'],
    ]) {
      await same(r, f, ...c);
    }
    const [lr, lf] = [await r0.call('ACL', 'LOG', '3'), await f0.call('ACL', 'LOG', '3')];
    const keep = (s: string): string[] => s.split('\r\n').filter((l) => !l.startsWith(',') && !l.startsWith('$') && !l.includes('id=') && !/^\d+(\.\d+)?(e-?\d+)?$/.test(l));
    expect(keep(lf)).toEqual(keep(lr));
  });
});
