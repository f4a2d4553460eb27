// Preloaded into a raftis process by bench/memory.mjs (node --import): on
// SIGUSR2, runs a full collection and writes the V8 heap's figures
// (process.memoryUsage and getHeapSpaceStatistics) as JSON to the file named
// by RAFTIS_HEAP_REPORT. Not part of raftis; a measuring aid only.
import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const out = process.env.RAFTIS_HEAP_REPORT;
process.on('SIGUSR2', () => {
  gc();
  const spaces = {};
  for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = { size: s.space_size, used: s.space_used_size };
  const report = { memory: process.memoryUsage(), heap: v8.getHeapStatistics(), spaces };
  if (out) fs.writeFileSync(out, JSON.stringify(report));
});
