/**
 * A subscriber that stops reading is disconnected once its unsent output
 * passes Redis's pubsub hard limit (32 MB), instead of the server buffering
 * without bound; other subscribers keep receiving.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PushClient, frameItems } from '../helpers/push-client.js';
import { startRaftis, type RaftisProcess } from '../helpers/raftis-process.js';

let srv: RaftisProcess;

beforeAll(async () => {
  srv = await startRaftis();
});
afterAll(async () => {
  await srv?.destroy();
});

it('disconnects a subscriber that does not read past 32 MB of pending messages', async () => {
  const stuck = await PushClient.connect(srv.port);
  const live = await PushClient.connect(srv.port);
  const pub = await PushClient.connect(srv.port);
  try {
    await stuck.call(1, 'SUBSCRIBE', 'flood');
    await live.call(1, 'SUBSCRIBE', 'other');
    stuck.sock.pause();
    const big = 'x'.repeat(1024 * 1024);
    for (let i = 0; i < 48 && !stuck.closed; i++) await pub.call(1, 'PUBLISH', 'flood', big);
    stuck.sock.resume();
    const deadline = Date.now() + 10_000;
    while (!stuck.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(stuck.closed).toBe(true);
    expect(srv.logs()).toMatch(/closed for overcoming of output buffer limits \(pubsub\)/);
    // The server forgets it once its side of the socket has closed.
    const gone = ['*2\r\n$5\r\nflood\r\n:0\r\n'];
    let numsub = await pub.call(1, 'PUBSUB', 'NUMSUB', 'flood');
    while (JSON.stringify(numsub) !== JSON.stringify(gone) && Date.now() < deadline) numsub = await pub.call(1, 'PUBSUB', 'NUMSUB', 'flood');
    expect(numsub).toEqual(gone);
    expect(await pub.call(1, 'PUBLISH', 'other', 'still here')).toEqual([':1\r\n']);
    expect((await live.take(1)).map(frameItems)).toEqual([['message', 'other', 'still here']]);
  } finally {
    for (const c of [stuck, live, pub]) c.close();
  }
});
