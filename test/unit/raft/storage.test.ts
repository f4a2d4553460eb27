import { MemoryStorage } from '../../../src/raft/storage.js';
import { storageConformance } from '../../harness/storage-conformance.js';

storageConformance('MemoryStorage', () => {
  const storage = new MemoryStorage();
  return {
    storage,
    append: (ents) => storage.append(ents),
    setHardState: (hs) => storage.setHardState(hs),
    applySnapshot: (s) => storage.applySnapshot(s),
    createSnapshot: (i, cs, data) => storage.createSnapshot(i, cs, data),
    compact: (i) => storage.compact(i),
  };
});
