/**
 * A 3-node leader's ReadIndex rounds on a read-only load: each round's
 * heartbeat leaves from the Ready loop's turn without a Ready of its own
 * (ready-loop.ts processReady: sendAndAnswerNow before hasReady), and every
 * read is still served only after a quorum answered a round started after
 * it arrived. A follower answering such a round's heartbeat takes no turn of
 * its Ready loop for it either (node.ts receive).
 */
import { describe, expect, it } from 'vitest';
import { withCluster } from '../../harness/driver/cluster.js';

describe('read rounds on a read-only load', () => {
  for (const seed of [1, 2, 3]) {
    it(`serves reads without building a Ready per round (seed ${seed})`, async () => {
      await withCluster({ seed }, async (c) => {
        const l = c.leader();
        const p = c.propose(l);
        await c.converge();
        expect(p.outcome).toBe('applied');
        const node = c.node(l);
        const rn = node.rn;
        const ready = rn.ready.bind(rn);
        let readies = 0;
        rn.ready = () => {
          readies++;
          return ready();
        };
        // The followers' Ready-loop turns (processReady), counted, but for those a tick asked for (every tick does).
        let turns = 0;
        for (const id of c.ids) {
          if (id === l) continue;
          const f = c.node(id);
          let ticked = false;
          const tick = f.rn.tick.bind(f.rn);
          f.rn.tick = () => {
            ticked = true;
            tick();
          };
          const loop = (f as unknown as { loop: { processReady(): void } }).loop;
          const processReady = loop.processReady.bind(loop);
          loop.processReady = () => {
            if (!ticked) turns++;
            ticked = false;
            processReady();
          };
        }
        const roundsBefore = node.metrics().readIndexRounds;
        for (let i = 0; i < 5; i++) {
          const answers: boolean[] = [];
          node.readBarrier((ok) => answers.push(ok));
          node.readBarrier((ok) => answers.push(ok));
          await c.runUntil(() => answers.length === 2, 1000, `reads ${i} answered`);
          expect(answers).toEqual([true, true]);
        }
        // Each turn's reads went as one ReadIndex request, each served by a round.
        expect(node.metrics().readIndexRounds - roundsBefore).toBe(5);
        expect(readies).toBe(0);
        expect(turns).toBe(0);
        await c.converge();
        c.verify();
      });
    });
  }
});
