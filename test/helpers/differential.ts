/**
 * Differential runs against two servers: the same steps sent over fresh
 * connections to redis-server and to raftis, raw replies returned side by
 * side for byte-for-byte comparison.
 * (The in-process engine-vs-redis variant is engine-diff.ts.)
 */
import { RawClient } from './raw-client.js';

/** A command (argv, latin1) or raw bytes sent as they are (inline commands). */
export type Step = string[] | { raw: string };

export interface StepResult {
  step: Step;
  redis: string;
  raftis: string;
}

/** A readable one-line form of a step, for assertion messages. */
export function describeStep(step: Step): string {
  if (Array.isArray(step)) return step.map((a) => JSON.stringify(a)).join(' ');
  return 'raw ' + JSON.stringify(step.raw);
}

async function runOn(port: number, steps: readonly Step[]): Promise<string[]> {
  const c = await RawClient.connect(port);
  try {
    const out: string[] = [];
    for (const s of steps) out.push(Array.isArray(s) ? await c.call(...s) : await c.send(s.raw));
    return out;
  } finally {
    c.close();
  }
}

/**
 * Runs `steps` on a new connection to each server (one after the other, so
 * shared keys do not interleave) and returns both replies of every step,
 * each passed through `normalize` when given.
 */
export async function runBoth(
  redisPort: number,
  raftisPort: number,
  steps: readonly Step[],
  normalize: (reply: string, step: Step) => string = (r) => r,
): Promise<StepResult[]> {
  const redis = await runOn(redisPort, steps);
  const raftis = await runOn(raftisPort, steps);
  return steps.map((step, i) => ({
    step,
    redis: normalize(redis[i]!, step),
    raftis: normalize(raftis[i]!, step),
  }));
}
