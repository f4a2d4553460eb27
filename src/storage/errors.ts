/** Errors an operator sees when the data directory cannot be used. */
export class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Another process holds the LevelDB lock of this data directory. */
export class DataDirLockedError extends StorageError {}

/** The data on disk is unreadable or fails a consistency check. */
export class CorruptDataError extends StorageError {}
