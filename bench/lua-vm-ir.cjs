// The Lua VM alone under callgrind: one script run n times on the raw module (stub host), for
// load-independent instruction counts per call (see bench/results/busy-cost.md).
// Usage: valgrind --tool=callgrind --callgrind-out-file=/dev/null node --no-liftoff --single-threaded bench/lua-vm-ir.cjs <dist> SET|LOOP|STR|ERR <n>
// node busy-ir.cjs <dist> <test> <n>: runs one script n times on the raw module (stub host).
const fs = require('fs'), path = require('path'), crypto = require('crypto');
const [dir, test, nStr] = process.argv.slice(2);
const n = Number(nStr);
const create = require(path.resolve(dir, 'lua51.cjs'));
let m;
const heap = () => Buffer.from(m.HEAPU8.buffer);
m = create({ wasmBinary: fs.readFileSync(path.resolve(dir, 'lua51.wasm')), rlHost: (kind) => { if (kind === 0) heap().write('+OK\r\n', m._rl_reply_buf(5), 'latin1'); return 0; }, print() {}, printErr() {} });
m._rl_init(64 * 1024 * 1024, 0);
const bodies = { SET: "return redis.call('SET', KEYS[1], ARGV[1])", LOOP: "local s = 0 for i = 1, 1000 do s = s + i end return s", STR: "local t = {} for i = 1, 1000 do t[i] = 'k' .. i end return #t", ERR: "return nil + 1" };
const body = bodies[test];
const sha = crypto.createHash('sha1').update(body).digest('hex');
const name = m._rl_name_buf();
heap().write('f_' + sha + '\0', name, 'latin1');
heap().write(body, m._rl_in_buf(body.length), 'latin1');
if (m._rl_load(name, body.length) !== 0) throw new Error('load');
const args = Buffer.alloc(8 + 4 + 1 + 4 + 1); args.writeUInt32LE(1, 0); args.writeUInt32LE(1, 4); args.writeUInt32LE(1, 8); args.write('k', 12); args.writeUInt32LE(1, 13); args.write('v', 17);
heap().set(args, m._rl_in_buf(args.length)); heap().write("f_" + sha + "\0", name, "latin1");
for (let i = 0; i < n; i++) {


  const rc = m._rl_eval(name, 1e8, 2, 256 * 1024 * 1024);
  if (rc > 1) throw new Error('rc ' + rc);
}
