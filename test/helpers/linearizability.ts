/**
 * A linearizability checker (Wing & Gong's search with Lowe's memoization,
 * as in Knossos/Porcupine) for histories of a key-value store.
 *
 * Each operation has an invocation time and either a completion time with
 * its observed result, or no completion (outcome unknown: the client timed
 * out or the connection died). An unknown operation may take effect at any
 * point after its invocation, or never. The history is linearizable if some
 * total order of the operations, consistent with real time and with every
 * observed result, is a valid sequential execution of the model.
 *
 * Keys are independent registers, so each key is checked on its own
 * (linearizability is local: Herlihy & Wing).
 */

export type OpKind = 'set' | 'get' | 'append';

export interface Op {
  client: number;
  kind: OpKind;
  key: string;
  /** set: the value; append: the suffix. */
  arg?: string;
  /** get: the value read (null = no key); append: the new length; set: unused. Undefined when unknown. */
  result?: string | number | null;
  invoke: number;
  /** Undefined when the outcome is unknown. */
  complete?: number;
}

type State = string | null;

/** Applies op to state; returns the next state, or undefined if the observed result is impossible. */
function step(state: State, op: Op, known: boolean): State | undefined {
  switch (op.kind) {
    case 'set':
      return op.arg!;
    case 'get':
      if (!known) return state;
      return op.result === state ? state : undefined;
    case 'append': {
      const next = (state ?? '') + op.arg!;
      if (known && op.result !== next.length) return undefined;
      return next;
    }
  }
}

interface Entry {
  op: number; // index into ops
  isCall: boolean;
  time: number;
  match?: Entry; // call → its return
  prev?: Entry;
  next?: Entry;
}

export interface CheckResult {
  ok: boolean;
  /** Keys whose history is not linearizable. */
  badKeys: string[];
  /** Keys whose search hit the step budget (neither proven nor refuted). */
  undecided: string[];
}

/** Checks one key's operations. Returns true, false, or undefined when the budget ran out. */
export function checkKey(ops: readonly Op[], budget = 2_000_000): boolean | undefined {
  // Unknown reads constrain nothing; drop them.
  const live = ops.filter((o) => !(o.kind === 'get' && o.complete === undefined));
  const n = live.length;
  if (n === 0) return true;
  const events: Entry[] = [];
  for (let i = 0; i < n; i++) {
    const o = live[i]!;
    const call: Entry = { op: i, isCall: true, time: o.invoke };
    events.push(call);
    if (o.complete !== undefined) {
      const ret: Entry = { op: i, isCall: false, time: o.complete };
      call.match = ret;
      events.push(ret);
    }
  }
  // Calls before returns at equal times (an op may start exactly when another ends).
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1));
  const head: Entry = { op: -1, isCall: false, time: -Infinity };
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }
  let remainingReturns = events.filter((e) => !e.isCall).length;

  const lift = (e: Entry): void => {
    e.prev!.next = e.next;
    if (e.next) e.next.prev = e.prev;
    const m = e.match;
    if (m) {
      m.prev!.next = m.next;
      if (m.next) m.next.prev = m.prev;
    }
  };
  const unlift = (e: Entry): void => {
    const m = e.match;
    if (m) {
      m.prev!.next = m;
      if (m.next) m.next.prev = m;
    }
    e.prev!.next = e;
    if (e.next) e.next.prev = e;
  };

  const linearized = new Uint8Array(n);
  const cache = new Set<string>();
  const stack: { entry: Entry; state: State }[] = [];
  let state: State = null;
  let entry: Entry | undefined = head.next;
  let steps = 0;
  const key = (s: State): string => String.fromCharCode(...linearized) + '\u0000' + (s === null ? '\u0001' : s);

  while (remainingReturns > 0) {
    if (++steps > budget) return undefined;
    // A remaining return is always still in the list, so the walk meets it before the end.
    if (entry === undefined) throw new Error('linearizability search ran past the last event');
    if (entry.isCall) {
      const o = live[entry.op]!;
      const next = step(state, o, o.complete !== undefined);
      if (next !== undefined) {
        linearized[entry.op] = 1;
        const k = key(next);
        if (!cache.has(k)) {
          cache.add(k);
          stack.push({ entry, state });
          state = next;
          if (entry.match) remainingReturns--;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized[entry.op] = 0;
      }
      entry = entry.next;
    } else {
      // A return whose operation is not linearized yet: undo the last choice and try the next.
      const top = stack.pop();
      if (top === undefined) return false;
      state = top.state;
      linearized[top.entry.op] = 0;
      if (top.entry.match) remainingReturns++;
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return true;
}

export function checkHistory(ops: readonly Op[], budgetPerKey?: number): CheckResult {
  const byKey = new Map<string, Op[]>();
  for (const o of ops) {
    let l = byKey.get(o.key);
    if (!l) byKey.set(o.key, (l = []));
    l.push(o);
  }
  const badKeys: string[] = [];
  const undecided: string[] = [];
  for (const [k, l] of byKey) {
    const r = checkKey(l, budgetPerKey);
    if (r === false) badKeys.push(k);
    else if (r === undefined) undecided.push(k);
  }
  return { ok: badKeys.length === 0 && undecided.length === 0, badKeys, undecided };
}
