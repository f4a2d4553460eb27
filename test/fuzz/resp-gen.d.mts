export const RESERVED_PREFIX: string;
export const DENIED: Set<string>;
export function commandNames(): string[];
export function encodeArgv(argv: readonly string[]): Buffer;
export interface GeneratedRequest {
  bytes: Buffer;
  /** A valid frame sequence (false: a broken frame or inline garbage). */
  safe: boolean;
  commands: number;
}
export class RespGenerator {
  constructor(seed: number);
  count: number;
  command(last?: boolean): string[];
  request(safeOnly?: boolean, last?: boolean): GeneratedRequest;
}
