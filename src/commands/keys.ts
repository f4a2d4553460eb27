import type { CommandMeta } from './types.js';

/**
 * The key arguments of a command, from its COMMAND INFO first/last/step
 * (as COMMAND GETKEYS and cluster routing compute them). A negative last key
 * counts from the end (-1 = last argument).
 */
export function commandKeys(meta: CommandMeta, argv: readonly string[]): string[] {
  if (meta.firstKey <= 0) return [];
  const last = meta.lastKey < 0 ? argv.length + meta.lastKey : meta.lastKey;
  const keys: string[] = [];
  for (let i = meta.firstKey; i <= last && i < argv.length; i += Math.max(1, meta.step)) keys.push(argv[i]!);
  return keys;
}
