/** ConfChange encoding and the shared text format of describe.ts. */
import { describe, expect, it } from 'vitest';
import { bootstrapState } from '../../../src/raft/bootstrap.js';
import { applyToConfState, ConfChangeDecodeError, ConfChangeType, decodeConfChange, encodeConfChange } from '../../../src/raft/conf-change.js';
import { describeEntry, describeHardState, describeMessage, describeReady } from '../../../src/raft/describe.js';
import { EMPTY_BUFFER, EntryType, MessageType } from '../../../src/raft/messages.js';
import { Role } from '../../../src/raft/role.js';
import { ent, msg } from '../../harness/builders.js';

describe('ConfChange', () => {
  it('round-trips through its binary encoding', () => {
    for (const cc of [
      { type: ConfChangeType.AddNode, nodeId: 1, context: EMPTY_BUFFER },
      { type: ConfChangeType.RemoveNode, nodeId: 2 ** 40, context: EMPTY_BUFFER },
      { type: ConfChangeType.AddLearnerNode, nodeId: 7, context: Buffer.from('127.0.0.7:7000') },
    ]) {
      expect(decodeConfChange(encodeConfChange(cc))).toEqual(cc);
    }
  });

  it('rejects malformed data and bad ids', () => {
    expect(() => decodeConfChange(Buffer.from([1, 0]))).toThrow(ConfChangeDecodeError);
    expect(() => decodeConfChange(Buffer.from([9, 0, 0, 0, 0, 0, 0, 1]))).toThrow(ConfChangeDecodeError);
    expect(() => decodeConfChange(Buffer.from([1, 9, 0, 0, 0, 0, 0, 1]))).toThrow(ConfChangeDecodeError);
    expect(() => encodeConfChange({ type: ConfChangeType.AddNode, nodeId: 0, context: EMPTY_BUFFER })).toThrow(RangeError);
  });

  it('applies to a configuration one node at a time', () => {
    const cs = { voters: [1, 2, 3], learners: [] };
    expect(applyToConfState(cs, { type: ConfChangeType.AddLearnerNode, nodeId: 4, context: EMPTY_BUFFER })).toEqual({ voters: [1, 2, 3], learners: [4] });
    expect(applyToConfState({ voters: [1, 2, 3], learners: [4] }, { type: ConfChangeType.AddNode, nodeId: 4, context: EMPTY_BUFFER })).toEqual({
      voters: [1, 2, 3, 4],
      learners: [],
    });
    expect(applyToConfState(cs, { type: ConfChangeType.RemoveNode, nodeId: 2, context: EMPTY_BUFFER })).toEqual({ voters: [1, 3], learners: [] });
    expect(applyToConfState(cs, { type: ConfChangeType.AddLearnerNode, nodeId: 3, context: EMPTY_BUFFER })).toEqual({ voters: [1, 2], learners: [3] });
  });

  it('bootstrap writes one committed AddNode per initial voter at term 1', () => {
    const b = bootstrapState([3, 1, 2]);
    expect(b.hardState).toEqual({ term: 1, vote: 0, commit: 3 });
    expect(b.entries.map((e) => [e.index, e.term, e.type, decodeConfChange(e.data).nodeId])).toEqual([
      [1, 1, EntryType.ConfChange, 1],
      [2, 1, EntryType.ConfChange, 2],
      [3, 1, EntryType.ConfChange, 3],
    ]);
  });
});

describe('describe', () => {
  it('formats messages like etcd', () => {
    expect(describeMessage(msg({ type: MessageType.App, from: 1, to: 2, term: 1, logTerm: 1, index: 2, commit: 2, entries: [ent(3, 1)] }))).toBe(
      '1->2 MsgApp Term:1 Log:1/2 Commit:2 Entries:[1/3 EntryNormal]',
    );
    expect(describeMessage(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 3, logTerm: 2, index: 7, reject: true, rejectHint: 5 }))).toBe(
      '2->1 MsgAppResp Term:3 Log:2/7 Rejected (Hint: 5)',
    );
    expect(describeMessage(msg({ type: MessageType.Heartbeat, from: 1, to: 3, term: 2, context: Buffer.from([0, 0, 0, 0, 0, 0, 0, 9]) }))).toBe(
      '1->3 MsgHeartbeat Term:2 Log:0/0 Context:0x0000000000000009',
    );
  });

  it('formats entries: short text quoted, binary as hex, conf changes decoded', () => {
    expect(describeEntry(ent(4, 2, 'SET k v'))).toBe('2/4 EntryNormal "SET k v"');
    expect(describeEntry(ent(4, 2, Buffer.from([0, 1, 2])))).toBe('2/4 EntryNormal 0x000102');
    const cc = bootstrapState([5]).entries[0];
    expect(cc && describeEntry(cc)).toBe('1/1 EntryConfChange AddNode(5)');
  });

  it('formats a Ready section by section', () => {
    const text = describeReady({
      number: 1,
      softState: { lead: 1, role: Role.Leader },
      hardState: { term: 2, vote: 1, commit: 3 },
      readStates: [],
      entries: [ent(4, 2)],
      committedEntries: [],
      messages: [msg({ type: MessageType.App, from: 1, to: 2, term: 2, logTerm: 1, index: 3, commit: 3, entries: [ent(4, 2)] })],
      persistedMessages: [],
      mustSync: true,
    });
    expect(text).toBe(
      [
        'Lead:1 State:StateLeader',
        'HardState Term:2 Vote:1 Commit:3',
        'Entries:',
        '  2/4 EntryNormal',
        'Messages:',
        '  1->2 MsgApp Term:2 Log:1/3 Commit:3 Entries:[2/4 EntryNormal]',
        'MustSync',
      ].join('\n'),
    );
    expect(describeHardState({ term: 1, vote: 0, commit: 0 })).toBe('Term:1 Vote:0 Commit:0');
  });
});
