export interface Target {
  id: number;
  host: string;
  port: number;
  clusterPort?: number;
  pid?: number;
}
export class MalformedReply extends Error {}
export function replyEnd(buf: Buffer, pos: number, depth?: number): number;
export function sleep(ms: number): Promise<void>;
export function rssBytes(pid: number): number;
export function fdCount(pid: number): number;
export function alive(pid: number): boolean;
export class Conn {
  static open(host: string, port: number, timeoutMs?: number): Promise<Conn>;
  call(argv: readonly string[], timeoutMs?: number): Promise<Buffer>;
  str(argv: readonly string[], timeoutMs?: number): Promise<string>;
  close(): void;
}
export function pingWithin(host: string, port: number, boundMs: number): Promise<boolean>;
export function raftInfo(host: string, port: number, timeoutMs?: number): Promise<Record<string, string>>;
export function findLeader<T extends Target>(targets: T[]): Promise<T | undefined>;
export function waitLeader<T extends Target>(targets: T[], timeoutMs?: number): Promise<T>;
export function writeReserved(leader: Target, n: number): Promise<Map<string, string>>;
export function checkReserved(leader: Target, n: number, expected: Map<string, string>): Promise<string[]>;
export function cleanup(leader: Target, databases?: number): Promise<boolean>;
export interface ConnectionResult {
  replies: number;
  bytesIn: number;
  malformed: string | undefined;
  closedByServer: boolean;
  sentinel: boolean;
  why: string;
}
export function fuzzConnection(host: string, port: number, payload: Buffer, tail?: Buffer, opts?: { quietMs?: number; maxMs?: number; lingerMs?: number }): Promise<ConnectionResult>;
export interface CheckStats {
  hangs: string[];
  crashes: string[];
}
export interface RespFuzzStats extends CheckStats {
  requests: number;
  batches: number;
  connections: number;
  replies: number;
  closedByServer: number;
  endedBy: Record<string, number>;
  malformed: string[];
  cleanupsFailed: number;
  durationMs: number;
}
export function runRespFuzz(opts: {
  targets: Target[];
  seed: number;
  requests: number;
  conns?: number;
  perConn?: number;
  batchRequests?: number;
  pingBoundMs?: number;
  cleanupEvery?: number;
  timeLimitMs?: number;
  databases?: number;
  log?: (s: string) => void;
}): Promise<RespFuzzStats>;
export function checkTargets(targets: Target[], pingBoundMs: number, stats: CheckStats, when: string): Promise<void>;
export function peerConnection(
  target: Target,
  bytes: Buffer,
  opts?: { handshake?: { clusterId: string; from: number; to: number }; expectClose?: boolean; closeWaitMs?: number; lingerMs?: number },
): Promise<{ handshakeOk: boolean; handshakeError: string | undefined; closedByNode: boolean }>;
export interface PeerFuzzStats extends CheckStats {
  frames: number;
  framesBefore: number;
  framesAfter: number;
  batches: number;
  connections: number;
  handshakes: number;
  handshakeFailures: string[];
  closedByNode: number;
  expectedCloseMissing: string[];
  durationMs: number;
}
export function runPeerFuzz(opts: {
  targets: Target[];
  clusterId: string;
  seed: number;
  frames: number;
  conns?: number;
  framesPerConn?: number;
  batchFrames?: number;
  pingBoundMs?: number;
  timeLimitMs?: number;
  log?: (s: string) => void;
}): Promise<PeerFuzzStats>;
export function payloadSource(
  gen: import('./resp-gen.mjs').RespGenerator,
  perConn: number,
): (limit: number) => { bytes: Buffer; tail: Buffer | undefined; n: number };
