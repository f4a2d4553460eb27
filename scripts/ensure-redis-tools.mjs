#!/usr/bin/env node
// The tests compare raftis with a real redis-server and drive it with
// redis-cli and redis-benchmark; the TLS tests make certificates with openssl;
// the cluster page's test drives Debian's Chromium. Install what is missing
// (Debian packages) when we can (root + apt-get); otherwise stop and say what
// to install. No test is skipped because a tool is missing.
import { execFileSync, spawnSync } from 'node:child_process';

/** Command → the Debian package that provides it. */
const tools = {
  'redis-server': 'redis-server',
  'redis-cli': 'redis-tools',
  'redis-benchmark': 'redis-tools',
  openssl: 'openssl',
  chromium: 'chromium',
};
const missing = () => Object.keys(tools).filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const packages = (cmds) => [...new Set(cmds.map((t) => tools[t]))];

let need = missing();
if (need.length === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = spawnSync('sh', ['-c', 'command -v apt-get']).status === 0;
if (isRoot && hasApt) {
  const pkgs = packages(need);
  console.error(`[raftis tests] installing ${need.join(', ')} (apt-get install ${pkgs.join(' ')})…`);
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', ...pkgs], { stdio: 'inherit', env });
  } catch (e) {
    console.error(`[raftis tests] apt-get failed: ${e.message}`);
  }
  need = missing();
}
if (need.length > 0) {
  console.error(
    `[raftis tests] missing ${need.join(', ')}. The tests need redis-server, redis-cli and redis-benchmark (Redis 7), openssl and Chromium:\n` +
      `  on Debian/Ubuntu: sudo apt-get install ${packages(need).join(' ')}\n` +
      `  elsewhere: install them so that these commands are on PATH (Chromium as /usr/bin/chromium), then run npm test again.`,
  );
  process.exit(1);
}
