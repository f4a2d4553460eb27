/** The wasm Lua VM on its own: load, run, redis.call through the host, the budget, reset. */
import { describe, expect, it } from 'vitest';
import { LuaVM, sha1hex } from '../../../src/util/lua/vm.js';

function loaded(vm: LuaVM, body: string): string {
  const sha = sha1hex(body);
  expect(vm.load(sha, body)).toBeUndefined();
  return sha;
}

describe('LuaVM', () => {
  it('runs a script, converting redis.call replies and the result to RESP', () => {
    const calls: string[][] = [];
    const vm = new LuaVM({ call: (argv) => (calls.push(argv), { resp: '+OK\r\n' }) });
    const sha = loaded(vm, "return {redis.call('SET', KEYS[1], ARGV[1]), 1.5, 'x'}");
    expect(vm.run(sha, ['k'], ['v'], { budget: 1e6, clientResp: 2 })).toEqual({ resp: '*3\r\n+OK\r\n:1\r\n$1\r\nx\r\n', error: false });
    expect(calls).toEqual([['SET', 'k', 'v']]);
  });

  it('reports compile errors and unknown scripts', () => {
    const vm = new LuaVM({ call: () => ({ resp: '+OK\r\n' }) });
    expect(vm.load(sha1hex('return +'), 'return +')).toMatch(/^-ERR Error compiling script/);
    expect(vm.run('0'.repeat(40), [], [], { budget: 0, clientResp: 2 })).toBeUndefined();
  });

  it('stops a runaway script at its budget, and keeps working', () => {
    const vm = new LuaVM({ call: () => ({ resp: '+OK\r\n' }) });
    const sha = loaded(vm, 'local i = 0 while true do i = i + 1 end');
    const r = vm.run(sha, [], [], { budget: 1e6, clientResp: 2 })!;
    expect(r.error).toBe(true);
    expect(r.resp).toContain('Script exceeded its instruction budget');
    const ok = loaded(vm, 'return 7');
    expect(vm.run(ok, [], [], { budget: 1e6, clientResp: 2 })!.resp).toBe(':7\r\n');
  });

  it('math.random is reseeded per run when a seed is given', () => {
    const vm = new LuaVM({ call: () => ({ resp: '+OK\r\n' }) });
    const sha = loaded(vm, 'return math.random(1000000)');
    const a = vm.run(sha, [], [], { budget: 0, clientResp: 2, seed: 42 })!.resp;
    const b = vm.run(sha, [], [], { budget: 0, clientResp: 2, seed: 42 })!.resp;
    expect(b).toBe(a);
  });

  it('reset forgets every script', () => {
    const vm = new LuaVM({ call: () => ({ resp: '+OK\r\n' }) });
    const sha = loaded(vm, 'return 1');
    vm.reset();
    expect(vm.has(sha)).toBe(false);
    expect(vm.run(sha, [], [], { budget: 0, clientResp: 2 })).toBeUndefined();
  });
});
