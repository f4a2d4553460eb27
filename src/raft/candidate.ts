/**
 * How a candidate or pre-candidate handles messages of its term: vote
 * answers for its own kind of campaign, and any sign of a leader.
 */
import { ProposalDroppedError, ReadIndexDroppedError } from './errors.js';
import { type Message, MessageType, NONE } from './messages.js';
import { VoteResult } from './quorum.js';
import type { Raft } from './raft.js';
import { CampaignType, Role } from './role.js';

export function stepCandidate(r: Raft, m: Message): void {
  // Only answers to our current kind of campaign count: a candidate may still
  // receive pre-vote answers from its pre-candidacy at this term.
  const myVoteResp = r.role === Role.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
  switch (m.type) {
    case MessageType.Prop:
      r.logger.info(`${r.id} no leader at term ${r.term}; dropping proposal`);
      throw new ProposalDroppedError(`no leader at term ${r.term}`);
    case MessageType.ReadIndex:
      if (m.from === r.id || m.from === NONE) throw new ReadIndexDroppedError(`no leader at term ${r.term}`);
      return;
    case MessageType.App:
      // A leader of our term exists (m.term === r.term here).
      r.becomeFollower(m.term, m.from);
      r.handleAppendEntries(m);
      return;
    case MessageType.Heartbeat:
      r.becomeFollower(m.term, m.from);
      r.handleHeartbeat(m);
      return;
    case MessageType.Snap:
      r.becomeFollower(m.term, m.from);
      r.handleSnapshot(m);
      return;
    case myVoteResp: {
      const { granted, rejected, result } = r.poll(m.from, m.type, !m.reject);
      r.logger.info(`${r.id} has received ${granted} ${MessageType[m.type]} votes and ${rejected} vote rejections`);
      if (result === VoteResult.Won) {
        if (r.role === Role.PreCandidate) {
          r.campaign(CampaignType.Election);
        } else {
          r.becomeLeader();
          r.bcastAppend();
        }
      } else if (result === VoteResult.Lost) {
        // A pre-vote rejection may carry a higher term; keep ours.
        r.becomeFollower(r.term, NONE);
      }
      return;
    }
    case MessageType.TimeoutNow:
      if (r.logger.debugEnabled) r.logger.debug(`${r.id} [term ${r.term} state ${r.role}] ignored MsgTimeoutNow from ${m.from}`);
      return;
    default:
      return;
  }
}
