/** Seeded randomness, message generators and a capturing logger for the transport tests. */
import { EntryType, MessageType, newMessage, type Entry, type Message, type Snapshot } from '../../../src/raft/messages.js';
import type { Logger } from '../../../src/util/log.js';
import { createPrng } from '../../../src/util/prng.js';

/** Seeded randomness for the transport tests (the core's mulberry32). */
export const prng = createPrng;


export function randInt(rng: () => number, n: number): number {
  return Math.floor(rng() * n);
}

export function randBytes(rng: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = randInt(rng, 256);
  return b;
}

/** Values around every varint length boundary, plus the extremes. */
const EDGES = [0, 1, 127, 128, 16383, 16384, 2 ** 21 - 1, 2 ** 21, 2 ** 28, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 35, 2 ** 42, 2 ** 49, 2 ** 52, Number.MAX_SAFE_INTEGER];

export function randUint(rng: () => number): number {
  const k = rng();
  if (k < 0.3) return EDGES[randInt(rng, EDGES.length)]!;
  if (k < 0.7) return randInt(rng, 1000);
  return Math.floor(rng() * Number.MAX_SAFE_INTEGER);
}

export const ALL_MESSAGE_TYPES: MessageType[] = Object.values(MessageType).filter((v): v is MessageType => typeof v === 'number');
export const ALL_ENTRY_TYPES: EntryType[] = Object.values(EntryType).filter((v): v is EntryType => typeof v === 'number');

function randDataSize(rng: () => number): number {
  const k = rng();
  if (k < 0.2) return 0;
  if (k < 0.4) return 1;
  if (k < 0.95) return randInt(rng, 300);
  return 16_000 + randInt(rng, 8000);
}

export function randEntry(rng: () => number): Entry {
  return {
    index: randUint(rng),
    term: randUint(rng),
    type: ALL_ENTRY_TYPES[randInt(rng, ALL_ENTRY_TYPES.length)]!,
    data: randBytes(rng, randDataSize(rng)),
  };
}

export function randSnapshot(rng: () => number): Snapshot {
  const ids = (n: number): number[] => Array.from({ length: n }, () => 1 + randInt(rng, 2 ** 20));
  return {
    metadata: { index: randUint(rng), term: randUint(rng), confState: { voters: ids(randInt(rng, 6)), learners: ids(randInt(rng, 3)) } },
    data: randBytes(rng, randDataSize(rng)),
  };
}

export function randMessage(rng: () => number, type: MessageType, withSnapshot = rng() < 0.3): Message {
  const nEntries = rng() < 0.3 ? 0 : randInt(rng, 8);
  return newMessage({
    type,
    from: randUint(rng),
    to: randUint(rng),
    term: randUint(rng),
    logTerm: randUint(rng),
    index: randUint(rng),
    commit: randUint(rng),
    reject: rng() < 0.5,
    rejectHint: randUint(rng),
    context: randBytes(rng, rng() < 0.5 ? 0 : randInt(rng, 40)),
    entries: Array.from({ length: nEntries }, () => randEntry(rng)),
    ...(withSnapshot ? { snapshot: randSnapshot(rng) } : {}),
  });
}

/** A logger that keeps its lines, for asserting what a connection failure logged. */
export class CapturingLogger implements Logger {
  readonly lines: string[] = [];
  readonly debugEnabled = false;
  debug(): void {}
  info(...args: unknown[]): void {
    this.lines.push(`info ${args.join(' ')}`);
  }
  warn(...args: unknown[]): void {
    this.lines.push(`warn ${args.join(' ')}`);
  }
  error(...args: unknown[]): void {
    this.lines.push(`error ${args.join(' ')}`);
  }
  matching(re: RegExp): string[] {
    return this.lines.filter((l) => re.test(l));
  }
}

/** Polls `cond` every 10 ms, at most `tries` times; fails with `what` (no timing assertion, just a bound). */
export async function waitFor(cond: () => boolean, what: string, tries = 1000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

/**
 * Buffers replaced by hex strings, recursively: vitest compares Buffers byte
 * by byte in JavaScript, which is slow for the payload sizes used here.
 */
export function plain(x: unknown): unknown {
  if (Buffer.isBuffer(x)) return `buf:${x.toString('hex')}`;
  if (Array.isArray(x)) return x.map(plain);
  if (x !== null && typeof x === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) out[k] = plain(v);
    return out;
  }
  return x;
}
