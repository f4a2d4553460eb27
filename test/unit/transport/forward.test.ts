/**
 * The ForwardCommand body (--follower-writes proxy): the client's database
 * travels with its commands; a command in db 0 is encoded as before
 * numbered databases existed (no flag, no field).
 */
import { describe, expect, it } from 'vitest';
import { decodeForwardCommand, encodeForwardCommand } from '../../../src/transport/forward.js';

describe('ForwardCommand', () => {
  it('round-trips the database, and leaves db 0 out of the bytes', () => {
    const cmds = [['SET', 'k', 'v\x00\xff'], ['GET', 'k']];
    for (const db of [1, 15, 127, 128, 2147483647]) {
      expect(decodeForwardCommand(encodeForwardCommand({ id: 300, proto: 3, multi: true, cmds, db }))).toEqual({ id: 300, proto: 3, multi: true, cmds, db });
    }
    const plain = encodeForwardCommand({ id: 5, proto: 2, multi: false, cmds });
    expect(encodeForwardCommand({ id: 5, proto: 2, multi: false, cmds, db: 0 })).toEqual(plain);
    // id 5, proto 2, flags 0, then the commands: what a build without databases sent.
    expect([...plain.subarray(0, 4)]).toEqual([5, 2, 0, 2]);
    expect(decodeForwardCommand(plain)).toEqual({ id: 5, proto: 2, multi: false, cmds });
    expect(encodeForwardCommand({ id: 5, proto: 2, multi: false, cmds, db: 9 }).length).toBe(plain.length + 1);
  });
});
