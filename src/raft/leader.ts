/**
 * How a leader handles messages of its term (and local ones): proposals,
 * replication acks and rejections, heartbeat answers and read rounds,
 * check-quorum, snapshot reports and leadership transfer.
 */
import { invariant, ProposalDroppedError } from './errors.js';
import { type Entry, EntryType, type Message, MessageType, NONE } from './messages.js';
import type { Raft } from './raft.js';

export function stepLeader(r: Raft, m: Message): void {
  // These need no progress for m.from.
  switch (m.type) {
    case MessageType.Beat:
      r.broadcastHeartbeatRound();
      return;
    case MessageType.CheckQuorum:
      checkQuorum(r);
      return;
    case MessageType.Prop:
      propose(r, m);
      return;
    case MessageType.ReadIndex:
      // A fresh leader does not know the commit index of the previous term
      // until it commits an entry of its own (thesis §6.4 step 1).
      if (!r.committedEntryInCurrentTerm()) {
        r.pendingReadIndexMessages.push(m);
        return;
      }
      r.handleReadIndexRequest(m);
      return;
    default:
      break;
  }

  const pr = r.trk.get(m.from);
  if (pr === undefined) {
    if (r.logger.debugEnabled) r.logger.debug(`${r.id} no progress available for ${m.from}`);
    return;
  }
  switch (m.type) {
    case MessageType.AppResp:
      pr.recentActive = true;
      if (m.reject) onAppendRejected(r, m);
      else onAppendAccepted(r, m);
      return;
    case MessageType.HeartbeatResp:
      // (A stale rejection, answering a heartbeat sent before the reset, is ignored.)
      if (m.reject && pr.match > m.rejectHint) {
        // The follower lost the entries it had acknowledged: start over from its real log.
        r.logger.warn(`${r.id} follower ${m.from} lost its log (it ends at ${m.rejectHint}, match was ${pr.match}); probing it afresh`);
        pr.forgetMatch();
      }
      pr.onHeartbeatResponse();
      // Also unblocks a follower whose in-flight appends were all lost: it
      // gets an empty append it can accept or reject.
      r.maybeSendAppend(m.from);
      if (r.readOnly.recvAck(m.from, m.context)) r.confirmReadRounds();
      return;
    case MessageType.SnapStatus:
      pr.onSnapshotStatus(m.reject);
      return;
    case MessageType.Unreachable:
      pr.onUnreachable();
      if (r.logger.debugEnabled) r.logger.debug(`${r.id} failed to send message to ${m.from} because it is unreachable [${pr.toString()}]`);
      return;
    case MessageType.TransferLeader:
      transferLeader(r, m);
      return;
    default:
      return;
  }
}

function checkQuorum(r: Raft): void {
  if (!r.trk.quorumActive()) {
    r.logger.warn(`${r.id} stepped down to follower since quorum is not active`);
    r.becomeFollower(r.term, NONE);
  }
  // Everyone must prove themselves alive again before the next check.
  r.trk.visit((id, pr) => {
    if (id !== r.id) pr.recentActive = false;
  });
}

function propose(r: Raft, m: Message): void {
  appendProposal(r, m.entries, false);
}

/**
 * A leader's own proposal (RawNode.proposeBatch): as a stepped MsgProp, but
 * `entries` were made for this call and are shared with nobody, so the log
 * takes them as they are (their index and term set) instead of copies.
 */
export function proposeOwned(r: Raft, entries: Entry[]): void {
  appendProposal(r, entries, true);
}

function appendProposal(r: Raft, entries: Entry[], owned: boolean): void {
  invariant(entries.length > 0, () => `${r.id} stepped empty MsgProp`);
  if (r.trk.get(r.id) === undefined) throw new ProposalDroppedError('this leader is no longer a member');
  if (r.leadTransferee !== NONE) throw new ProposalDroppedError(`leadership transfer to ${r.leadTransferee} is in progress`);
  let pendingConf = r.pendingConfIndex;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e === undefined || e.type !== EntryType.ConfChange) continue;
    const refusal = r.confChangeRefusal(e);
    if (refusal !== undefined) {
      r.logger.info(`${r.id} ignoring conf change: ${refusal}`);
      throw new ProposalDroppedError(refusal);
    }
    pendingConf = r.raftLog.lastIndex() + i + 1;
  }
  r.pendingConfIndex = pendingConf;
  if (owned) r.appendOwnEntries(entries);
  else r.appendEntry(entries);
  r.bcastAppend();
}

function onAppendRejected(r: Raft, m: Message): void {
  const pr = r.trk.get(m.from);
  if (pr === undefined) return;
  if (r.logger.debugEnabled) {
    r.logger.debug(`${r.id} received MsgAppResp(rejected, hint: (index ${m.rejectHint}, term ${m.logTerm})) from ${m.from} for index ${m.index}`);
  }
  // The follower told us the largest index where it may match and its term
  // there. Any index of ours with a higher term than that cannot match
  // either, so skip to the last one at or below it: one probe per term.
  let next = m.rejectHint;
  if (m.logTerm > 0) next = r.raftLog.findConflictByTerm(m.rejectHint, m.logTerm)[0];
  if (pr.onAppendRejected(m.index, next)) {
    if (r.logger.debugEnabled) r.logger.debug(`${r.id} decreased progress of ${m.from} to [${pr.toString()}]`);
    r.maybeSendAppend(m.from);
  }
}

function onAppendAccepted(r: Raft, m: Message): void {
  const pr = r.trk.get(m.from);
  if (pr === undefined || !pr.onAppendAccepted(m.index, r.raftLog.firstIndex())) return;
  if (r.maybeCommit()) {
    // The first commit of the term also unblocks reads held since election.
    r.releasePendingReadIndexMessages();
    r.bcastAppend();
  } else if (m.from !== r.id && pr.canBumpCommit(r.raftLog.committed)) {
    r.maybeSendAppend(m.from);
  }
  if (m.from !== r.id) {
    // The ack may have opened the window (probe → replicate, freed
    // inflights): send what fits, without empty messages.
    for (let i = 0; i <= r.trk.maxInflight && r.maybeSendAppend(m.from); i++) {
      // keep sending
    }
  }
  if (m.from === r.leadTransferee && pr.match === r.raftLog.lastIndex()) {
    r.logger.info(`${r.id} sent MsgTimeoutNow to ${m.from} after received MsgAppResp`);
    r.sendTimeoutNow(m.from);
  }
}

function transferLeader(r: Raft, m: Message): void {
  const pr = r.trk.get(m.from);
  if (pr === undefined) return;
  if (pr.isLearner) {
    if (r.logger.debugEnabled) r.logger.debug(`${r.id} is learner. Ignored transferring leadership`);
    return;
  }
  // By convention the transferee travels in `from`.
  const transferee = m.from;
  if (r.leadTransferee !== NONE) {
    if (r.leadTransferee === transferee) {
      r.logger.info(`${r.id} [term ${r.term}] transfer leadership to ${transferee} is in progress, ignores request to same node ${transferee}`);
      return;
    }
    r.logger.info(`${r.id} [term ${r.term}] abort previous transferring leadership to ${r.leadTransferee}`);
    r.abortLeaderTransfer();
  }
  if (transferee === r.id) {
    if (r.logger.debugEnabled) r.logger.debug(`${r.id} is already leader. Ignored transferring leadership to self`);
    return;
  }
  r.logger.info(`${r.id} [term ${r.term}] starts to transfer leadership to ${transferee}`);
  // The transfer must finish within an election timeout (tickHeartbeat aborts it).
  r.electionElapsed = 0;
  r.leadTransferee = transferee;
  if (pr.match === r.raftLog.lastIndex()) {
    r.sendTimeoutNow(transferee);
    r.logger.info(`${r.id} sends MsgTimeoutNow to ${transferee} immediately as ${transferee} already has up-to-date log`);
  } else {
    r.maybeSendAppend(transferee);
  }
}
