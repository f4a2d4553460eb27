/**
 * The server cron's frequency: hz as set, and with dynamic-hz doubled while
 * there are more than 200 clients per tick, at most 500 (serverCron).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ServerCron } from '../../../src/commands/engine/cron.js';

const crons: ServerCron[] = [];
afterEach(() => {
  for (const c of crons.splice(0)) c.stop();
});

function cron(clients: { n: number }): ServerCron {
  const c = new ServerCron(() => undefined, () => clients.n);
  crons.push(c);
  return c;
}

describe('ServerCron', () => {
  it('runs at hz; dynamic-hz doubles it per 200 clients a tick, up to 500', () => {
    const clients = { n: 10 };
    const c = cron(clients);
    c.start();
    expect(c.hz).toBe(10);
    c.configHz = 100;
    c.update();
    expect(c.hz).toBe(100);
    c.configHz = 10;
    clients.n = 2010;
    c.update();
    // 2010 / 10 = 201 > 200: 20; 2010 / 20 = 100.
    expect(c.hz).toBe(20);
    clients.n = 2000;
    c.update();
    expect(c.hz).toBe(10);
    clients.n = 100_000;
    c.update();
    expect(c.hz).toBe(500);
    c.dynamic = false;
    c.update();
    expect(c.hz).toBe(10);
  });

  it('a tick runs the work', async () => {
    let ticks = 0;
    const c = new ServerCron(() => ticks++, () => 0);
    crons.push(c);
    c.configHz = 500;
    c.start();
    for (let i = 0; i < 200 && ticks < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(ticks).toBeGreaterThanOrEqual(3);
  });
});
