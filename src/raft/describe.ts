/**
 * One text format for Raft's data, shared by logs and tests so a failing test
 * prints what an operator would see. It follows etcd's Describe* functions:
 *
 *   1->2 MsgApp Term:1 Log:1/2 Commit:2 Entries:[1/3 EntryNormal]
 */
import { decodeConfChange, describeConfChange } from './conf-change.js';
import {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  isEmptySnapshot,
  type Message,
  MessageType,
  type Snapshot,
} from './messages.js';
import type { Ready } from './rawnode.js';
import type { ReadState } from './read-only.js';
import { roleName, type SoftState } from './role.js';

const MAX_DATA_CHARS = 32;

/** How to show an entry's payload; the default shows short printable text quoted, otherwise hex. */
export type DataFormatter = (data: Buffer) => string;

export function defaultDataFormatter(data: Buffer): string {
  const text = data.toString('utf8');
  // eslint-disable-next-line no-control-regex
  const printable = !/[\u0000-\u001f\u007f\ufffd]/.test(text);
  if (printable) {
    return JSON.stringify(text.length > MAX_DATA_CHARS ? `${text.slice(0, MAX_DATA_CHARS)}…` : text);
  }
  const hex = data.subarray(0, MAX_DATA_CHARS / 2).toString('hex');
  return `0x${hex}${data.length > MAX_DATA_CHARS / 2 ? '…' : ''}`;
}

export function messageTypeName(t: MessageType): string {
  return `Msg${MessageType[t] ?? `Unknown(${t})`}`;
}

export function describeEntry(e: Entry, fmt: DataFormatter = defaultDataFormatter): string {
  if (e.type === EntryType.ConfChange) {
    let body: string;
    try {
      body = describeConfChange(decodeConfChange(e.data));
    } catch {
      body = fmt(e.data);
    }
    return `${e.term}/${e.index} EntryConfChange ${body}`;
  }
  const base = `${e.term}/${e.index} EntryNormal`;
  return e.data.length === 0 ? base : `${base} ${fmt(e.data)}`;
}

export function describeEntries(ents: readonly Entry[], fmt: DataFormatter = defaultDataFormatter): string {
  return ents.map((e) => describeEntry(e, fmt)).join('\n');
}

export function describeConfState(cs: ConfState): string {
  return `Voters:[${cs.voters.join(' ')}] Learners:[${cs.learners.join(' ')}]`;
}

export function describeSnapshot(s: Snapshot): string {
  const m = s.metadata;
  return `Index:${m.index} Term:${m.term} ConfState:${describeConfState(m.confState)}`;
}

export function describeHardState(hs: HardState): string {
  return `Term:${hs.term} Vote:${hs.vote} Commit:${hs.commit}`;
}

export function describeSoftState(ss: SoftState): string {
  return `Lead:${ss.lead} State:${roleName(ss.role)}`;
}

export function describeReadState(rs: ReadState): string {
  return `Index:${rs.index} RequestCtx:${defaultDataFormatter(rs.requestCtx)}`;
}

export function describeMessage(m: Message, fmt: DataFormatter = defaultDataFormatter): string {
  let s = `${m.from}->${m.to} ${messageTypeName(m.type)} Term:${m.term} Log:${m.logTerm}/${m.index}`;
  if (m.reject) s += ` Rejected (Hint: ${m.rejectHint})`;
  if (m.commit !== 0) s += ` Commit:${m.commit}`;
  if (m.entries.length > 0) s += ` Entries:[${m.entries.map((e) => describeEntry(e, fmt)).join(', ')}]`;
  if (m.context.length > 0) s += ` Context:${defaultDataFormatter(m.context)}`;
  if (m.snapshot !== undefined && !isEmptySnapshot(m.snapshot)) s += ` Snapshot: ${describeSnapshot(m.snapshot)}`;
  return s;
}

/** A multi-line description of a Ready, one section per non-empty field. */
export function describeReady(rd: Ready, fmt: DataFormatter = defaultDataFormatter): string {
  const out: string[] = [];
  if (rd.softState !== undefined) out.push(describeSoftState(rd.softState));
  if (rd.hardState !== undefined) out.push(`HardState ${describeHardState(rd.hardState)}`);
  if (rd.readStates.length > 0) out.push(`ReadStates ${rd.readStates.map(describeReadState).join(', ')}`);
  if (rd.entries.length > 0) out.push(`Entries:\n${indent(describeEntries(rd.entries, fmt))}`);
  if (rd.snapshot !== undefined) out.push(`Snapshot ${describeSnapshot(rd.snapshot)}`);
  if (rd.committedEntries.length > 0) out.push(`CommittedEntries:\n${indent(describeEntries(rd.committedEntries, fmt))}`);
  if (rd.messages.length > 0) out.push(`Messages:\n${indent(rd.messages.map((m) => describeMessage(m, fmt)).join('\n'))}`);
  if (rd.persistedMessages.length > 0) {
    out.push(`PersistedMessages:\n${indent(rd.persistedMessages.map((m) => describeMessage(m, fmt)).join('\n'))}`);
  }
  if (rd.mustSync) out.push('MustSync');
  return out.length === 0 ? '<empty Ready>' : out.join('\n');
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
