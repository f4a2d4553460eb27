/**
 * Recording and reporting of the chaos test's history: converts client
 * outcomes to checker operations, finds the earliest point where a bad key's
 * history stops being linearizable, and formats an excerpt around it.
 */
import { checkKey, type Op } from '../helpers/linearizability.js';

/** An operation as recorded, with what the test knows beyond the checker's fields. */
export interface RecordedOp extends Op {
  /** Node that gave the definite reply (or the node that went silent, for unknown outcomes). */
  node?: number;
  /** Why the outcome is unknown. */
  reason?: string;
}

/**
 * The history cut at time T: operations invoked by T, where an operation
 * that completed after T becomes unknown (reads that did not complete are
 * dropped by the checker). If the whole history is linearizable then so is
 * every cut (a linearization restricted to its points up to T is valid for
 * the cut), so the earliest failing cut is found by bisection and locates
 * the first violation in time.
 */
export function cut(ops: readonly Op[], t: number): Op[] {
  const out: Op[] = [];
  for (const o of ops) {
    if (o.invoke > t) continue;
    if (o.complete !== undefined && o.complete > t) out.push({ ...o, result: undefined, complete: undefined });
    else out.push(o);
  }
  return out;
}

/**
 * The earliest invocation/completion time at which ops (one key) stop being
 * linearizable. `at` is undefined when the whole history checks (or the
 * search budget ran out); `exact` is false when the deadline cut the
 * bisection short (then `at` is only an upper bound).
 */
export function firstViolation(ops: readonly Op[], deadlineMs = 20_000, budget?: number): { at: number | undefined; exact: boolean } {
  const stop = performance.now() + deadlineMs;
  const times = [...new Set(ops.flatMap((o) => (o.complete === undefined ? [o.invoke] : [o.invoke, o.complete])))].sort((a, b) => a - b);
  if (times.length === 0 || checkKey(cut(ops, times[times.length - 1]!), budget) !== false) return { at: undefined, exact: true };
  let lo = -1; // cut(times[lo]) checks (or lo = -1)
  let hi = times.length - 1; // cut(times[hi]) fails
  while (hi - lo > 1) {
    if (performance.now() > stop) return { at: times[hi], exact: false };
    const mid = (lo + hi) >> 1;
    if (checkKey(cut(ops, times[mid]!), budget) === false) hi = mid;
    else lo = mid;
  }
  return { at: times[hi], exact: true };
}

/**
 * APPEND suffixes are unique, so a value read that contains one twice proves
 * an append was applied twice. Returns one line per such read (first few).
 */
export function duplicateAppends(ops: readonly Op[], t0: number, max = 10): string[] {
  const out: string[] = [];
  for (const o of ops) {
    if (o.kind !== 'get' || typeof o.result !== 'string') continue;
    const parts = o.result.split('+').slice(1);
    const seen = new Set<string>();
    for (const p of parts) {
      if (seen.has(p)) {
        out.push(`GET ${o.key} by c${o.client} at ${(o.invoke - t0).toFixed(1)} ms read ${JSON.stringify(o.result)}: append "+${p}" applied twice`);
        break;
      }
      seen.add(p);
    }
    if (out.length >= max) break;
  }
  return out;
}

export function formatOp(o: RecordedOp, t0: number): string {
  const ms = (t: number): string => (t - t0).toFixed(1).padStart(9);
  const span = `[${ms(o.invoke)} .. ${o.complete === undefined ? '        ?' : ms(o.complete)}]`;
  const what = o.kind === 'get' ? `get ${o.key}` : `${o.kind} ${o.key} ${JSON.stringify(o.arg)}`;
  let res: string;
  if (o.complete === undefined) res = `UNKNOWN (${o.reason ?? ''}${o.node !== undefined ? `, node ${o.node}` : ''})`;
  else if (o.kind === 'get') res = `-> ${JSON.stringify(o.result)} (node ${o.node})`;
  else if (o.kind === 'append') res = `-> len ${o.result} (node ${o.node})`;
  else res = `-> OK (node ${o.node})`;
  return `${span} c${o.client} ${what} ${res}`;
}
