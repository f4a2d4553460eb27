/**
 * Raft configuration with its defaults. Times are in ticks: the driver calls
 * tick() at a fixed interval (e.g. 100 ms) and Raft never reads a clock.
 */
import { RaftConfigError } from './errors.js';
import { type Logger, silentLogger } from './logger.js';
import { NONE } from './messages.js';
import { createPrng } from '../util/prng.js';
import type { Storage } from './storage.js';

export enum ReadOnlyOption {
  /** Every read batch is confirmed by a quorum heartbeat round. Default. */
  Safe = 0,
  /**
   * The leader answers reads from its lease, without a round trip, while the
   * lease (renewed by quorum heartbeat rounds) holds. Correct only if the
   * driver runs ticks by a monotonic clock, counting those a stall skipped
   * before it steps a message or a read (src/node/ticker.ts), and the tick
   * rates of the nodes drift by less than a tick per election timeout
   * (LEASE_SAFETY_TICKS in raft.ts). Requires checkQuorum.
   */
  LeaseBased = 1,
}

export interface RaftConfig {
  /** This node's id, a positive integer. */
  id: number;
  storage: Storage;
  /**
   * Initial voters and learners, used only when the storage holds no
   * configuration (a fresh node in tests). Production nodes bootstrap through
   * the log instead (see bootstrap.ts) so that a node joining later learns
   * the initial members by replication.
   */
  voters?: number[];
  learners?: number[];
  /** Ticks without hearing from a leader before a follower campaigns; randomized in [electionTick, 2*electionTick). */
  electionTick?: number;
  /** Ticks between the leader's heartbeats. */
  heartbeatTick?: number;
  /** Byte budget of one MsgApp (at least one entry is always sent). */
  maxSizePerMsg?: number;
  /** MsgApps in flight per follower in Replicate state. */
  maxInflightMsgs?: number;
  /** Bytes in flight per follower; 0 for no limit. */
  maxInflightBytes?: number;
  /** Byte budget of committed entries handed out in one Ready. */
  maxCommittedSizePerReady?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  readOnlyOption?: ReadOnlyOption;
  /** Last index applied to the state machine, when restarting; entries up to it are not handed out again. */
  applied?: number;
  /** Uniform random numbers in [0, 1), for the election timeout. Seed it for reproducible runs. */
  rng?: () => number;
  logger?: Logger;
}

export interface ResolvedConfig {
  id: number;
  storage: Storage;
  voters: number[];
  learners: number[];
  electionTick: number;
  heartbeatTick: number;
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  maxInflightBytes: number;
  maxCommittedSizePerReady: number;
  preVote: boolean;
  checkQuorum: boolean;
  readOnlyOption: ReadOnlyOption;
  applied: number;
  rng: () => number;
  logger: Logger;
}

export const DEFAULTS = {
  electionTick: 10,
  heartbeatTick: 1,
  maxSizePerMsg: 1024 * 1024,
  maxInflightMsgs: 256,
  maxInflightBytes: 0,
  maxCommittedSizePerReady: 64 * 1024 * 1024,
  preVote: true,
  checkQuorum: true,
  readOnlyOption: ReadOnlyOption.Safe,
} as const;

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new RaftConfigError(`${name} must be a positive integer, got ${v}`);
  return v;
}

export function resolveConfig(c: RaftConfig): ResolvedConfig {
  if (c.id === NONE) throw new RaftConfigError('cannot use none as id');
  positiveInt('id', c.id);
  const electionTick = positiveInt('electionTick', c.electionTick ?? DEFAULTS.electionTick);
  const heartbeatTick = positiveInt('heartbeatTick', c.heartbeatTick ?? DEFAULTS.heartbeatTick);
  if (electionTick <= heartbeatTick) throw new RaftConfigError('election tick must be greater than heartbeat tick');
  const maxSizePerMsg = c.maxSizePerMsg ?? DEFAULTS.maxSizePerMsg;
  if (!(maxSizePerMsg >= 0)) throw new RaftConfigError('maxSizePerMsg must be >= 0');
  const maxInflightMsgs = positiveInt('maxInflightMsgs', c.maxInflightMsgs ?? DEFAULTS.maxInflightMsgs);
  const maxInflightBytes = c.maxInflightBytes ?? DEFAULTS.maxInflightBytes;
  if (maxInflightBytes !== 0 && maxInflightBytes < maxSizePerMsg) {
    throw new RaftConfigError('max inflight bytes must be >= max message size');
  }
  const checkQuorum = c.checkQuorum ?? DEFAULTS.checkQuorum;
  const readOnlyOption = c.readOnlyOption ?? DEFAULTS.readOnlyOption;
  if (readOnlyOption === ReadOnlyOption.LeaseBased && !checkQuorum) {
    throw new RaftConfigError('CheckQuorum must be enabled when ReadOnlyOption is LeaseBased');
  }
  return {
    id: c.id,
    storage: c.storage,
    voters: c.voters ?? [],
    learners: c.learners ?? [],
    electionTick,
    heartbeatTick,
    maxSizePerMsg,
    maxInflightMsgs,
    maxInflightBytes,
    maxCommittedSizePerReady: c.maxCommittedSizePerReady ?? DEFAULTS.maxCommittedSizePerReady,
    preVote: c.preVote ?? DEFAULTS.preVote,
    checkQuorum,
    readOnlyOption,
    applied: c.applied ?? 0,
    rng: c.rng ?? createPrng(c.id),
    logger: c.logger ?? silentLogger,
  };
}
