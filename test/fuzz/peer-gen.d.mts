import type net from 'node:net';
export interface HelloOptions {
  clusterId: string;
  from: number;
  to: number;
}
export function validHello(opts: HelloOptions): Buffer;
export function peerHandshake(sock: net.Socket, opts: HelloOptions, timeoutMs?: number): Promise<void>;
export interface FrameBatch {
  bytes: Buffer;
  frames: number;
  /** The node's own decoder says it must close the connection on these bytes. */
  mustClose: boolean;
  why: string;
}
export class PeerFrameGenerator {
  constructor(seed: number, opts: { clusterId: string; memberIds: number[] });
  preHandshake(targetId: number, n: number): FrameBatch;
  postHandshake(targetId: number, n: number): FrameBatch;
}
