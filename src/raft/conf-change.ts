/**
 * Membership changes, one node at a time (raft thesis §4.1). A ConfChange
 * travels as the data of an EntryType.ConfChange entry; the driver decodes it
 * when the entry is committed, applies it to Raft with applyConfChange and
 * keeps the returned ConfState for its next snapshot.
 *
 * Encoding (version 1): [version u8][type u8][nodeId u48 BE][context…].
 */
import { RaftError } from './errors.js';
import { type ConfState, EMPTY_BUFFER } from './messages.js';

export enum ConfChangeType {
  /** Add a voter, or promote a learner to voter. */
  AddNode = 0,
  RemoveNode = 1,
  /** Add a non-voting member, or demote a voter. */
  AddLearnerNode = 2,
}

export interface ConfChange {
  type: ConfChangeType;
  nodeId: number;
  /** Opaque to Raft: the driver puts e.g. the new node's address here. */
  context: Buffer;
}

const VERSION = 1;
const HEADER = 8;
const MAX_NODE_ID = 2 ** 48 - 1;

export class ConfChangeDecodeError extends RaftError {}

export function encodeConfChange(cc: ConfChange): Buffer {
  if (!Number.isInteger(cc.nodeId) || cc.nodeId <= 0 || cc.nodeId > MAX_NODE_ID) {
    throw new RangeError(`conf change node id out of range: ${cc.nodeId}`);
  }
  const buf = Buffer.allocUnsafe(HEADER + cc.context.length);
  buf.writeUInt8(VERSION, 0);
  buf.writeUInt8(cc.type, 1);
  buf.writeUIntBE(cc.nodeId, 2, 6);
  cc.context.copy(buf, HEADER);
  return buf;
}

export function decodeConfChange(data: Buffer): ConfChange {
  if (data.length < HEADER) throw new ConfChangeDecodeError(`conf change too short: ${data.length} bytes`);
  const version = data.readUInt8(0);
  if (version !== VERSION) throw new ConfChangeDecodeError(`unknown conf change version ${version}`);
  const type = data.readUInt8(1);
  if (!(type in ConfChangeType)) throw new ConfChangeDecodeError(`unknown conf change type ${type}`);
  const nodeId = data.readUIntBE(2, 6);
  const context = data.length > HEADER ? Buffer.from(data.subarray(HEADER)) : EMPTY_BUFFER;
  return { type: type as ConfChangeType, nodeId, context };
}

/** The configuration that results from applying `cc` to `cs`. */
export function applyToConfState(cs: ConfState, cc: ConfChange): ConfState {
  const voters = cs.voters.filter((id) => id !== cc.nodeId);
  const learners = cs.learners.filter((id) => id !== cc.nodeId);
  if (cc.type === ConfChangeType.AddNode) voters.push(cc.nodeId);
  else if (cc.type === ConfChangeType.AddLearnerNode) learners.push(cc.nodeId);
  return { voters: voters.sort((a, b) => a - b), learners: learners.sort((a, b) => a - b) };
}

export function describeConfChange(cc: ConfChange): string {
  return `${ConfChangeType[cc.type]}(${cc.nodeId})`;
}
