import { describe, expect, it } from 'vitest';
import { Network } from '../../harness/network.js';
import { Role } from '../../../src/raft/role.js';

describe('smoke', () => {
  it('elects and replicates', () => {
    const nt = new Network({ ids: [1, 2, 3], seed: 1 });
    nt.campaign(1);
    expect(nt.raft(1).role).toBe(Role.Leader);
    nt.propose(1, 'hello');
    nt.stabilize();
    nt.check();
    for (const id of [1, 2, 3]) expect(nt.node(id).applied).toBe(5);
  });
});
