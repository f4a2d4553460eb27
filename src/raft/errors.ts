/**
 * The closed set of errors the Raft core throws. Only RaftInvariantError means
 * the node's state can no longer be trusted (crash it); the others report a
 * request that was refused and can be handled or logged.
 */
export class RaftError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A proposal was not appended: no known leader, a leadership transfer is in progress, or a conf change was refused. */
export class ProposalDroppedError extends RaftError {
  constructor(reason: string) {
    super(`raft proposal dropped: ${reason}`);
  }
}

/** A read request was not accepted because this node knows of no leader. */
export class ReadIndexDroppedError extends RaftError {
  constructor(reason: string) {
    super(`raft read index dropped: ${reason}`);
  }
}

/** A peer sent a message type only a node may send to itself. */
export class StepLocalMsgError extends RaftError {
  constructor() {
    super('raft: cannot step raft local message');
  }
}

/** A response arrived from a node that is not in the configuration. */
export class StepPeerNotFoundError extends RaftError {
  constructor() {
    super('raft: cannot step as peer not found');
  }
}

/** Invalid Config. */
export class RaftConfigError extends RaftError {}

/** The Ready/advance contract was broken by the caller (ready twice, advance without ready…). */
export class ReadyContractError extends RaftError {}

/**
 * A safety invariant would break (term going backwards, committing over a
 * conflicting entry, log holes…). The node must stop rather than limp on.
 */
export class RaftInvariantError extends RaftError {}

export function invariant(cond: boolean, message: string | (() => string)): asserts cond {
  if (!cond) throw new RaftInvariantError(typeof message === 'string' ? message : message());
}
