/** The leader's message constructors build exactly what newMessage builds (same fields, same order: one object shape). */
import { describe, expect, it } from 'vitest';
import { MessageType, newAppend, newAppendAck, newEntry, newMessage } from '../../../src/raft/messages.js';

describe('message constructors', () => {
  it('newAppend and newAppendAck equal newMessage with the same fields, key for key in order', () => {
    const entries = [newEntry(5, 2, Buffer.from('x')), newEntry(6, 2)];
    const a = newAppend(3, 4, 2, entries, 9);
    const b = newMessage({ type: MessageType.App, to: 3, index: 4, logTerm: 2, entries, commit: 9 });
    expect(a).toEqual(b);
    expect(Object.keys(a)).toEqual(Object.keys(b));
    expect(a.entries).toBe(entries);
    const c = newAppendAck(2, 17);
    const d = newMessage({ type: MessageType.AppResp, to: 2, index: 17 });
    expect(c).toEqual(d);
    expect(Object.keys(c)).toEqual(Object.keys(d));
    // Each ack its own entries array (nobody may share one by accident).
    expect(newAppendAck(2, 1).entries).not.toBe(newAppendAck(2, 1).entries);
  });
});
