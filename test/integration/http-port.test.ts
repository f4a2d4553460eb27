import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster.js';

describe('--http-port', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 1, http: true });
  }, 30_000);
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('serves /healthz on the node address', async () => {
    const n = cluster.node(1);
    const res = await fetch(`http://${n.host}:${n.httpPort}/healthz`);
    expect([res.status, await res.text()]).toEqual([200, 'ok\n']);
  });
});
