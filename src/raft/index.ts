/** The public surface of the Raft core, for the driver (src/node) and the peer codec. */
export { RawNode, type Ready, type ProposalRef, type SnapshotStatus } from './rawnode.js';
export { type RaftConfig, ReadOnlyOption, DEFAULTS as RAFT_DEFAULTS } from './config.js';
export {
  NONE,
  EMPTY_BUFFER,
  EntryType,
  MessageType,
  type Entry,
  type HardState,
  type ConfState,
  type Snapshot,
  type SnapshotMetadata,
  type Message,
  newMessage,
  newEntry,
  isEmptyHardState,
  isEmptySnapshot,
  emptySnapshot,
  entrySize,
} from './messages.js';
export {
  type Storage,
  type InitialState,
  MemoryStorage,
  StorageError,
  CompactedError,
  UnavailableError,
  SnapshotOutOfDateError,
  SnapshotTemporarilyUnavailableError,
} from './storage.js';
export {
  RaftError,
  ProposalDroppedError,
  ReadIndexDroppedError,
  StepLocalMsgError,
  StepPeerNotFoundError,
  RaftConfigError,
  ReadyContractError,
  RaftInvariantError,
} from './errors.js';
export {
  type ConfChange,
  ConfChangeType,
  encodeConfChange,
  decodeConfChange,
  ConfChangeDecodeError,
} from './conf-change.js';
export { type ReadState } from './read-only.js';
export { Role, roleName, type SoftState } from './role.js';
export { type Status, type ProgressStatus } from './status.js';
export { ProgressState, progressStateName } from './tracker/state.js';
export { type Logger, silentLogger } from './logger.js';
export { bootstrapState, type BootstrapState } from './bootstrap.js';
export * from './describe.js';
