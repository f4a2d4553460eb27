/**
 * Bodies of the status frames (the cluster page, src/server/cluster-page.ts):
 * one node asks a peer for its own numbers and the peer answers them. See
 * docs/peer-protocol.md.
 *
 *   StatusRequest (0x80): varint id
 *   StatusReply   (0x81): varint id · varint length · UTF-8 JSON object
 *
 * Both types are skippable (≥ 0x80): a node built before them ignores the
 * request, and the asker reports it as not answering. The reply is JSON so
 * fields can be added without a protocol version: readers ignore fields they
 * do not know and treat missing ones as unknown.
 */
import { FrameError } from './errors.js';
import { BodyReader } from './reader.js';
import { varintSize, writeVarint } from './varint.js';

/** The largest reply body accepted (a status is a few KiB; this bounds a confused peer). */
export const MAX_STATUS_JSON_BYTES = 256 * 1024;

export function encodeStatusRequest(id: number): Buffer {
  const b = Buffer.allocUnsafe(varintSize(id));
  writeVarint(b, 0, id);
  return b;
}

export function decodeStatusRequest(body: Buffer): number {
  const r = new BodyReader(body);
  const id = r.varint('status request id');
  r.expectEnd('StatusRequest');
  return id;
}

export function encodeStatusReply(id: number, status: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(status), 'utf8');
  const b = Buffer.allocUnsafe(varintSize(id) + varintSize(json.length) + json.length);
  let off = writeVarint(b, 0, id);
  off = writeVarint(b, off, json.length);
  json.copy(b, off);
  return b;
}

/** The request id and the peer's status object; throws FrameError if the body is malformed. */
export function decodeStatusReply(body: Buffer): { id: number; status: Record<string, unknown> } {
  const r = new BodyReader(body);
  const id = r.varint('status reply id');
  const json = r.utf8('status reply json', MAX_STATUS_JSON_BYTES);
  r.expectEnd('StatusReply');
  let status: unknown;
  try {
    status = JSON.parse(json);
  } catch (e) {
    throw new FrameError('value', `status reply: not JSON (${(e as Error).message})`);
  }
  if (typeof status !== 'object' || status === null || Array.isArray(status)) throw new FrameError('value', 'status reply: not a JSON object');
  return { id, status: status as Record<string, unknown> };
}
