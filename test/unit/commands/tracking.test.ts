/**
 * The tracking table (src/commands/engine/tracking.ts) on its own, with
 * stand-in clients: what is remembered, who is told and where, what is
 * forgotten. The wire behaviour is compared with redis-server in
 * test/differential/tracking.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { appliedCommands, connCommands, dataCommands } from '../../../src/commands/handlers.js';
import { CommandTable } from '../../../src/commands/table.js';
import { Tracking, type TrackingOptions } from '../../../src/commands/engine/tracking.js';
import type { EngineClient } from '../../../src/commands/engine/engine.js';
import { RespWriter } from '../../../src/server/resp-writer.js';

const table = new CommandTable({ data: dataCommands, conn: connCommands, applied: appliedCommands });

interface Fake {
  id: number;
  proto: 2 | 3;
  closed: boolean;
  inPubSub: boolean;
  w: RespWriter;
  pushWriter(): RespWriter;
}

function setup(n: number): { tracking: Tracking; clients: Map<number, EngineClient>; fakes: Fake[] } {
  const clients = new Map<number, EngineClient>();
  const fakes: Fake[] = [];
  for (let id = 1; id <= n; id++) {
    const f: Fake = { id, proto: 3, closed: false, inPubSub: false, w: new RespWriter(3), pushWriter: () => f.w };
    fakes.push(f);
    clients.set(id, f as unknown as EngineClient);
  }
  return { tracking: new Tracking(clients), clients, fakes };
}

const on = (o: Partial<TrackingOptions> = {}): TrackingOptions => ({ redirect: 0, bcast: false, optin: false, optout: false, noloop: false, prefixes: [], ...o });
const read = (t: Tracking, c: EngineClient, ...argv: string[]): void => t.read(c, table.lookup(argv)!, argv);
const push = (...keys: string[]): string => `>2\r\n$10\r\ninvalidate\r\n*${keys.length}\r\n${keys.map((k) => `$${k.length}\r\n${k}\r\n`).join('')}`;
const tick = (): Promise<void> => new Promise((r) => process.nextTick(r));

describe('tracking table', () => {
  it('remembers nothing and ignores writes while no client tracks', () => {
    const { tracking, clients, fakes } = setup(1);
    expect(tracking.wanted).toBe(false);
    read(tracking, clients.get(1)!, 'GET', 'k');
    tracking.touched(['k']);
    tracking.touched(null);
    expect([tracking.totalKeys, tracking.totalItems, fakes[0]!.w.out]).toEqual([0, 0, '']);
  });

  it('default mode: the keys of readonly commands, one message per key written, then forgotten', () => {
    const { tracking, clients, fakes } = setup(2);
    const [a, b] = [clients.get(1)!, clients.get(2)!];
    tracking.enable(a, on());
    tracking.enable(b, on());
    read(tracking, a, 'MGET', 'k1', 'k2');
    read(tracking, b, 'GET', 'k1');
    // A write command's keys are not remembered.
    read(tracking, a, 'SET', 'k3', 'v');
    expect([tracking.clientCount, tracking.totalKeys, tracking.totalItems]).toEqual([2, 2, 3]);
    tracking.touched(['k1', 'k3']);
    expect(fakes[0]!.w.take()).toBe(push('k1'));
    expect(fakes[1]!.w.take()).toBe(push('k1'));
    expect([tracking.totalKeys, tracking.totalItems]).toEqual([1, 1]);
    tracking.touched(['k1']);
    expect(fakes[0]!.w.out + fakes[1]!.w.out).toBe('');
  });

  it("the writer's own invalidations wait for flushPending (after its reply); NOLOOP drops them", () => {
    const { tracking, clients, fakes } = setup(2);
    const [a, b] = [clients.get(1)!, clients.get(2)!];
    tracking.enable(a, on());
    tracking.enable(b, on({ noloop: true }));
    read(tracking, a, 'GET', 'k');
    read(tracking, b, 'GET', 'k');
    tracking.current = a;
    tracking.touched(['k']);
    expect(fakes[0]!.w.out).toBe('');
    expect(fakes[1]!.w.take()).toBe(push('k'));
    const reply = new RespWriter(3);
    reply.ok();
    tracking.flushPending(reply);
    expect(reply.take()).toBe('+OK\r\n' + push('k'));
    // b's own write: NOLOOP, nothing.
    read(tracking, b, 'GET', 'k');
    tracking.current = b;
    tracking.touched(['k']);
    tracking.flushPending(new RespWriter(3));
    tracking.current = undefined;
    expect(fakes[1]!.w.out).toBe('');
  });

  it('skips clients gone or no longer tracking, and drops the table when nobody tracks', () => {
    const { tracking, clients, fakes } = setup(2);
    const [a, b] = [clients.get(1)!, clients.get(2)!];
    tracking.enable(a, on());
    tracking.enable(b, on());
    read(tracking, a, 'GET', 'x');
    read(tracking, b, 'GET', 'x');
    read(tracking, b, 'GET', 'y');
    tracking.disable(a);
    clients.delete(1);
    tracking.touched(['x']);
    expect(fakes[0]!.w.out).toBe('');
    expect(fakes[1]!.w.take()).toBe(push('x'));
    expect(tracking.totalKeys).toBe(1);
    tracking.disable(b);
    expect([tracking.clientCount, tracking.totalKeys, tracking.totalItems]).toEqual([0, 0, 0]);
  });

  it('OPTIN tracks only after CLIENT CACHING yes, for one command', () => {
    const { tracking, clients } = setup(1);
    const a = clients.get(1)!;
    tracking.enable(a, on({ optin: true }));
    // Each command as the dispatcher runs it: beforeCommand, then the command.
    const run = (...argv: string[]): void => {
      const def = table.lookup(argv);
      tracking.beforeCommand(a, def);
      if (argv[0] === 'CLIENT') tracking.of(a)!.caching = true;
      else if (def !== undefined) read(tracking, a, ...argv);
    };
    run('GET', 'no');
    run('CLIENT', 'CACHING', 'yes');
    run('GET', 'yes');
    run('GET', 'no2');
    run('CLIENT', 'CACHING', 'yes');
    run('NOSUCHCOMMAND');
    run('GET', 'no3');
    expect(tracking.totalKeys).toBe(1);
  });

  it('BCAST: the keys written under each prefix in one turn, sorted and once each; NOLOOP leaves out its own', async () => {
    const { tracking, clients, fakes } = setup(2);
    const [a, b] = [clients.get(1)!, clients.get(2)!];
    tracking.enable(a, on({ bcast: true, prefixes: ['u:', 'v:'] }));
    tracking.enable(b, on({ bcast: true, noloop: true, prefixes: ['u:'] }));
    expect(tracking.totalPrefixes).toBe(2);
    tracking.current = b;
    tracking.touched(['u:2', 'w:1', 'u:1']);
    tracking.current = undefined;
    tracking.touched(['u:2', 'v:9']);
    expect(fakes[0]!.w.out).toBe('');
    await tick();
    expect(fakes[0]!.w.take()).toBe(push('u:1', 'u:2') + push('v:9'));
    // u:2 was last written by someone else: b is told of it, not of u:1.
    expect(fakes[1]!.w.take()).toBe(push('u:2'));
    await tick();
    expect(fakes[0]!.w.out + fakes[1]!.w.out).toBe('');
  });

  it('prefix collisions are worded as Redis words them', () => {
    const { tracking, clients } = setup(1);
    const a = clients.get(1)!;
    expect(tracking.prefixCollision(a, ['ab', 'a'])).toBe("ERR Prefix 'ab' overlaps with another provided prefix 'a'. Prefixes for a single client must not overlap.");
    tracking.enable(a, on({ bcast: true, prefixes: ['x:'] }));
    expect(tracking.prefixCollision(a, ['x'])).toBe("ERR Prefix 'x' overlaps with an existing prefix 'x:'. Prefixes for a single client must not overlap.");
    expect(tracking.prefixCollision(a, ['y'])).toBeUndefined();
  });

  it('tracking-table-max-keys: the oldest keys are evicted after the turn, with an invalidation', async () => {
    const { tracking, clients, fakes } = setup(1);
    const a = clients.get(1)!;
    tracking.maxKeys = 2;
    tracking.enable(a, on());
    read(tracking, a, 'MGET', 'k1', 'k2', 'k3', 'k4');
    expect(tracking.totalKeys).toBe(4);
    await tick();
    expect(fakes[0]!.w.take()).toBe(push('k1') + push('k2'));
    expect(tracking.totalKeys).toBe(2);
  });

  it('redirects: a RESP2 subscriber gets a message, a missing client marks the redirect broken', () => {
    const { tracking, clients, fakes } = setup(3);
    const a = clients.get(1)!;
    fakes[1]!.proto = 2;
    fakes[1]!.inPubSub = true;
    fakes[0]!.proto = 2;
    tracking.enable(a, on({ redirect: 2 }));
    tracking.enable(clients.get(3)!, on({ redirect: 2 }));
    read(tracking, a, 'GET', 'r');
    tracking.touched(['r']);
    expect(fakes[1]!.w.take()).toBe('*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\nr\r\n');
    expect(fakes[0]!.w.out).toBe('');
    clients.delete(2);
    read(tracking, clients.get(3)!, 'GET', 'r');
    tracking.touched(['r']);
    expect(fakes[2]!.w.take()).toBe('>2\r\n$21\r\ntracking-redir-broken\r\n:2\r\n');
    expect(tracking.of(clients.get(3)!)!.brokenRedirect).toBe(true);
  });
});
