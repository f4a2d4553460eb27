import { describe, expect, it } from 'vitest';
import {
  NO_GROUP,
  assignedSlots,
  cloneSlotMap,
  decodeSlotMap,
  emptySlotMap,
  encodeSlotMap,
  groupRanges,
  ownedRanges,
  parseGroupMember,
  parseSlotRange,
  type SlotMap,
} from '../../../src/util/slot-map.js';

function sample(): SlotMap {
  const m = emptySlotMap();
  m.epoch = 7;
  m.groups.set(0, [{ id: 1, host: '127.0.0.1', port: 7001, clusterPort: 17001 }]);
  m.groups.set(2, [
    { id: 4, host: '10.0.0.4', port: 7004, clusterPort: 9004 },
    { id: 5, host: '10.0.0.5', port: 7005, clusterPort: 9005 },
  ]);
  m.owner.fill(0, 0, 100);
  m.owner.fill(2, 100, 200);
  m.owner.fill(0, 300, 16384);
  return m;
}

describe('the slot map', () => {
  it('lists each group’s ranges in slot order, unassigned slots left out', () => {
    const m = sample();
    expect(ownedRanges(m)).toEqual([
      [0, 99, 0],
      [100, 199, 2],
      [300, 16383, 0],
    ]);
    expect(groupRanges(m, 0)).toEqual([
      { from: 0, to: 99 },
      { from: 300, to: 16383 },
    ]);
    expect(groupRanges(m, 1)).toEqual([]);
    expect(assignedSlots(m)).toBe(16384 - 100);
    expect(m.owner[250]).toBe(NO_GROUP);
  });

  it('round-trips through its JSON, and a clone is independent', () => {
    const m = sample();
    const back = decodeSlotMap(encodeSlotMap(m));
    expect(typeof back).toBe('object');
    expect(encodeSlotMap(back as SlotMap)).toBe(encodeSlotMap(m));
    expect((back as SlotMap).owner).toEqual(m.owner);
    const c = cloneSlotMap(m);
    c.owner[0] = 2;
    c.groups.get(0)![0]!.port = 1;
    expect(m.owner[0]).toBe(0);
    expect(m.groups.get(0)![0]!.port).toBe(7001);
  });

  it('refuses malformed JSON: ranges of unknown groups, bad members, bad epochs', () => {
    expect(decodeSlotMap('nope')).toMatch(/^slot map: not JSON/);
    expect(decodeSlotMap('{"epoch":-1,"groups":[],"slots":[]}')).toBe('slot map: epoch, groups and slots expected');
    expect(decodeSlotMap('{"epoch":1,"groups":[],"slots":[[0,5,3]]}')).toBe('slot map: bad slot range');
    expect(decodeSlotMap('{"epoch":1,"groups":[{"gid":3,"members":[]}],"slots":[[5,0,3]]}')).toBe('slot map: bad slot range');
    expect(decodeSlotMap('{"epoch":1,"groups":[{"gid":3,"members":[{"id":0,"host":"h","port":1,"clusterPort":2}]}],"slots":[]}')).toBe('slot map: bad member in group 3');
  });

  it('parses slot ranges and members as RAFT.SHARDS takes them', () => {
    expect(parseSlotRange('17')).toEqual({ from: 17, to: 17 });
    expect(parseSlotRange('0-16383')).toEqual({ from: 0, to: 16383 });
    expect(parseSlotRange('5-4')).toMatch(/^ERR Invalid slot range/);
    expect(parseSlotRange('16384')).toMatch(/^ERR Invalid slot range/);
    expect(parseSlotRange('a-b')).toMatch(/^ERR Invalid slot range/);
    expect(parseGroupMember('3@127.0.0.1:7003')).toEqual({ id: 3, host: '127.0.0.1', port: 7003, clusterPort: 17003 });
    expect(parseGroupMember('3@[::1]:7003@9000')).toEqual({ id: 3, host: '::1', port: 7003, clusterPort: 9000 });
    expect(parseGroupMember('0@h:1')).toMatch(/^ERR Invalid member/);
    expect(parseGroupMember('3@h')).toMatch(/^ERR Invalid member/);
  });
});
