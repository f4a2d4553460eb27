/**
 * active-expire-effort: a cycle of active expiry proposes as many more
 * expired keys as Redis's activeExpireCycle looks at more keys per loop
 * (1 + (effort - 1) / 4 times as many: 200 at 1, 650 at 10).
 */
import { describe, expect, it } from 'vitest';
import { ActiveExpiry, expiryBudget } from '../../../src/commands/engine/expire.js';
import { Databases } from '../../../src/keyspace/databases.js';

function proposedInOneCycle(effort: number | undefined): number {
  const dbs = new Databases(1);
  const ks = dbs.get(0);
  for (let i = 0; i < 2000; i++) {
    ks.set(`k${i}`, 'v');
    ks.setExpire(`k${i}`, 1);
  }
  const proposed: { entry: { keys: string[] } }[] = [];
  const node = { isLeader: true, closed: false, term: 1, propose: (p: { entry: { keys: string[] } }) => proposed.push(p) };
  const expiry = new ActiveExpiry({
    node: node as never,
    dbs,
    entryTime: () => 2,
    held: () => false,
    ...(effort !== undefined ? { effort: () => effort } : {}),
  });
  expiry.cycle();
  expect(proposed.length).toBe(1);
  return proposed[0]!.entry.keys.length;
}

describe('active-expire-effort', () => {
  it('scales the keys one cycle proposes for deletion', () => {
    expect(proposedInOneCycle(undefined)).toBe(200);
    expect(proposedInOneCycle(1)).toBe(200);
    expect(proposedInOneCycle(5)).toBe(400);
    expect(proposedInOneCycle(10)).toBe(650);
  });

  it('scales the keys looked at with it', () => {
    expect(expiryBudget(1)).toEqual({ look: 1000, delete: 200 });
    expect(expiryBudget(10)).toEqual({ look: 3250, delete: 650 });
  });
});
