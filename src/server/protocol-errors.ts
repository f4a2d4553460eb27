/**
 * The protocol errors the request parser answers, byte for byte as Redis 7
 * sends them (networking.c processMultibulkBuffer / processInlineBuffer).
 * Command errors are in src/commands/errors.ts, which includes these.
 */
export const PROTOCOL_ERR = {
  protoInvalidMultibulk: 'ERR Protocol error: invalid multibulk length',
  protoInvalidBulk: 'ERR Protocol error: invalid bulk length',
  protoTooBigInline: 'ERR Protocol error: too big inline request',
  protoTooBigMbulkCount: 'ERR Protocol error: too big mbulk count string',
  protoTooBigBulkCount: 'ERR Protocol error: too big bulk count string',
  protoUnbalancedQuotes: 'ERR Protocol error: unbalanced quotes in request',
} as const;

/** `ERR Protocol error: expected '$', got 'x'` */
export function protoExpectedDollar(got: string): string {
  return `ERR Protocol error: expected '$', got '${got}'`;
}
