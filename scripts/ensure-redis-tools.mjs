#!/usr/bin/env node
// The tests compare raftis with a real redis-server and drive it with
// redis-cli and redis-benchmark. Install them (Debian packages redis-server,
// redis-tools) when missing and we can (root + apt-get); otherwise stop and
// say what to install. No test is skipped because a tool is missing.
import { execFileSync, spawnSync } from 'node:child_process';

const tools = ['redis-server', 'redis-cli', 'redis-benchmark'];
const missing = () => tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);

let need = missing();
if (need.length === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = spawnSync('sh', ['-c', 'command -v apt-get']).status === 0;
if (isRoot && hasApt) {
  console.error(`[raftis tests] installing ${need.join(', ')} (apt-get install redis-server redis-tools)…`);
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', 'redis-server', 'redis-tools'], { stdio: 'inherit', env });
  } catch (e) {
    console.error(`[raftis tests] apt-get failed: ${e.message}`);
  }
  need = missing();
}
if (need.length > 0) {
  console.error(
    `[raftis tests] missing ${need.join(', ')}. The tests need redis-server, redis-cli and redis-benchmark (Redis 7):\n` +
      `  on Debian/Ubuntu: sudo apt-get install redis-server redis-tools\n` +
      `  elsewhere: install Redis 7 so that these commands are on PATH, then run npm test again.`,
  );
  process.exit(1);
}
