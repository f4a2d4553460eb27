/**
 * Bounded waits for a condition, shared by the tests: poll until it holds,
 * fail saying what was awaited when it does not in time (never a fixed
 * sleep, which a loaded machine can outrun).
 */
import { withTimeout } from './cluster.js';
import type { RawClient } from './raw-client.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls cond every intervalMs until it returns true; throws "timed out after
 * N ms waiting for <what>" once timeoutMs has passed (what may be a function,
 * called then, to say what was last seen).
 */
export async function until(what: string | (() => string), cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(intervalMs);
  }
}

/** INFO clients' blocked_clients of the server c is connected to ('?' if absent). */
export async function blockedClients(c: RawClient): Promise<string> {
  return /blocked_clients:(\d+)/.exec(await c.call('INFO', 'clients'))?.[1] ?? '?';
}

/**
 * Waits (bounded) until exactly n clients of the server c is connected to
 * are blocked: after a blocking command was sent, so that what the test
 * sends next cannot overtake it on a loaded machine; or after a blocked
 * client was served, timed out or went away.
 */
export async function untilBlocked(c: RawClient, n: number, timeoutMs = 10_000): Promise<void> {
  let last = '';
  await until(() => `${n} blocked clients (last seen ${last})`, async () => (last = await blockedClients(c)) === String(n), timeoutMs, 5);
}

/**
 * The reply, or 'pending' if none came within ms: for a reply that must not
 * come yet (a client still blocked), and for one that should come, so that a
 * miss shows in a byte comparison instead of hanging the test.
 */
export async function within(p: Promise<string>, ms: number): Promise<string> {
  return Promise.race([p, sleep(ms).then(() => 'pending')]);
}

/**
 * Polls `c` with PING every 10 ms until it answers -BUSY (a script has run
 * past busy-reply-threshold) and returns that reply; throws after `tries`
 * PINGs, or when one PING takes longer than 10 s.
 */
export async function untilBusy(c: RawClient, tries = 1000): Promise<string> {
  for (let i = 0; i < tries; i++) {
    const r = await withTimeout(c.call('PING'), 10_000);
    if (r.startsWith('-BUSY')) return r;
    await sleep(10);
  }
  throw new Error('never busy');
}
