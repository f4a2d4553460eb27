/**
 * Differential pub/sub scenarios: several connections to one server, steps
 * sent by one of them, and every frame each connection receives (replies
 * and pushed messages) recorded per step, so raftis can be compared with
 * redis-server byte for byte.
 *
 * redis-server runs first: after each step we wait for the acting
 * connection's first frame and then a short quiet time, and keep what every
 * connection got. raftis then runs the same steps and must produce exactly
 * as many frames on every connection (waited for, with a timeout); anything
 * extra shows up in the next step or in the final leftovers.
 */
import { sleep } from './poll.js';
import { PushClient } from './push-client.js';

export interface PsStep {
  /** Index of the connection that acts. */
  c: number;
  /** The command it sends; absent with `close`. */
  cmd?: string[];
  /** Close the connection's socket (no QUIT): the server must clean up. */
  close?: true;
  /** Compare frames as a multiset (Redis delivers in hash-table order). */
  sort?: boolean;
  /** Normalizes each frame before comparison (e.g. sorts a PUBSUB CHANNELS array). */
  norm?: (frame: string) => string;
}

/** out[step][connection] = frames; one extra last step holds leftovers. */
export type Outputs = string[][][];

export interface RunOptions {
  /** The connections (by index) that speak RESP3, instead of all of them speaking `proto`. */
  resp3?: readonly number[];
  /**
   * `$N` as a whole argument stands for connection N's CLIENT ID on that
   * server, and those ids in frames (integer replies, redir=) are written
   * back as `$N`, so that both servers' frames compare equal.
   */
  ids?: boolean;
  /** How long the unanswered run waits for more frames after the actor's first one (ms). */
  quietMs?: number;
}

export async function runScenario(port: number, clients: number, steps: readonly PsStep[], proto: 2 | 3, expected?: Outputs, opts: RunOptions = {}): Promise<Outputs> {
  const conns: PushClient[] = [];
  const ids: string[] = [];
  const quietMs = opts.quietMs ?? 20;
  try {
    for (let i = 0; i < clients; i++) {
      const c = await PushClient.connect(port);
      conns.push(c);
      if (opts.resp3 ? opts.resp3.includes(i) : proto === 3) await c.call(1, 'HELLO', '3');
      if (opts.ids) ids.push((await c.call(1, 'CLIENT', 'ID'))[0]!.slice(1, -2));
    }
    const sub = (a: string): string => (opts.ids ? a.replace(/^\$(\d)$/, (_, n: string) => ids[Number(n)]!) : a);
    const back = (f: string): string => {
      let out = f;
      ids.forEach((id, n) => {
        out = out.replaceAll(`:${id}\r\n`, `:$${n}\r\n`).replaceAll(`redir=${id} `, `redir=$${n} `);
      });
      return out;
    };
    const out: Outputs = [];
    for (let s = 0; s < steps.length; s++) {
      const step = steps[s]!;
      const actor = conns[step.c]!;
      if (step.close) {
        actor.close();
        await sleep(50);
      } else {
        actor.send(...step.cmd!.map(sub));
      }
      const got: string[][] = [];
      if (expected === undefined) {
        const first = step.close ? [] : await actor.take(1);
        await sleep(quietMs);
        for (let i = 0; i < clients; i++) got.push((i === step.c ? [...first, ...conns[i]!.takeAll()] : conns[i]!.takeAll()).map(back));
      } else {
        for (let i = 0; i < clients; i++) got.push((await conns[i]!.take(expected[s]![i]!.length)).map(back));
      }
      out.push(got);
    }
    await sleep(50);
    out.push(conns.map((c) => c.takeAll().map(back)));
    return out;
  } finally {
    for (const c of conns) c.close();
  }
}

/** One comparable line per step and connection, with the step's normalization applied. */
export function render(steps: readonly PsStep[], out: Outputs): string[] {
  const lines: string[] = [];
  out.forEach((perClient, s) => {
    const step = steps[s];
    const what = step === undefined ? 'leftovers' : step.close ? `c${step.c} closes` : `c${step.c} ${step.cmd!.map((a) => JSON.stringify(a)).join(' ')}`;
    perClient.forEach((frames, i) => {
      let f = step?.norm ? frames.map(step.norm) : frames;
      if (step?.sort) f = [...f].sort();
      lines.push(`${what} → c${i}: ${JSON.stringify(f.join(''))}`);
    });
  });
  return lines;
}

/** Sorts the bulk strings of a flat RESP array (PUBSUB CHANNELS lists channels in hash order). */
export function sortBulkArray(frame: string): string {
  const nl = frame.indexOf('\r\n');
  if (frame[0] !== '*') return frame;
  const items: string[] = [];
  let p = nl + 2;
  while (p < frame.length) {
    const e = frame.indexOf('\r\n', p);
    const n = Number(frame.slice(p + 1, e));
    items.push(frame.slice(p, e + 2 + n + 2));
    p = e + 2 + n + 2;
  }
  return frame.slice(0, nl + 2) + items.sort().join('');
}
