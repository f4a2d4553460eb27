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

  describe('the memory budget', () => {
    /** A VM with a history: strings interned (kept alive by a compiled script, and left as garbage), a grown stack and concatenation buffer. */
    function withHistory(calls: string[][]): LuaVM {
      const vm = new LuaVM({ call: (argv) => (calls.push(argv), { resp: '+OK\r\n' }) });
      const keep = `return {${Array.from({ length: 300 }, (_, i) => `'k${i}'`).join(',')}}`;
      vm.run(loaded(vm, keep), [], [], { budget: 0, clientResp: 2 });
      const churn =
        "local t = {} for i = 1, 20000 do t[i] = 'k' .. i end " +
        'local function deep(n) if n == 0 then return 0 end return 1 + deep(n - 1) end ' +
        "local s = string.rep('y', 100000) .. 'z' return deep(3000)";
      expect(vm.run(loaded(vm, churn), [], [], { budget: 0, clientResp: 2 })!.resp).toBe(':3000\r\n');
      calls.length = 0;
      return vm;
    }
    function twoVMs(): { vms: LuaVM[]; calls: string[][][] } {
      const calls: string[][][] = [[], []];
      return { vms: [withHistory(calls[0]!), new LuaVM({ call: (argv) => (calls[1]!.push(argv), { resp: '+OK\r\n' }) })], calls };
    }
    const run = (vm: LuaVM, body: string, memoryBudget: number) => {
      const r = vm.run(loaded(vm, body), ['key'], ['arg'], { budget: 1e8, clientResp: 2, memoryBudget })!;
      return { ...r, charged: vm.lastCharged() };
    };

    it('charges the same bytes in two VMs with different histories', () => {
      const { vms } = twoVMs();
      const body =
        "local t = {} for i = 1, 3000 do t[#t + 1] = 'k' .. i end " +
        "local s = '' for i = 1, 300 do s = s .. 'x' end " +
        'local function deep(n) if n == 0 then return 0 end return 1 + deep(n - 1) end ' +
        'local co = coroutine.wrap(function() for i = 1, 10 do coroutine.yield(deep(50) + i) end end) co() ' +
        "return {#t, #s, deep(400), co(), #cjson.encode(t), redis.call('set', KEYS[1], ARGV[1])}";
      const [a, b] = vms.map((vm) => run(vm, body, 64 * 1024 * 1024));
      expect(a!.resp).toBe('*6\r\n:3000\r\n:300\r\n:400\r\n:52\r\n:22894\r\n+OK\r\n');
      expect(b).toEqual(a);
      expect(a!.charged).toBeGreaterThan(100_000);
    });

    it('stops a script over it at the same operation everywhere, keeping its writes before, even past pcall and coroutines', () => {
      const { vms, calls } = twoVMs();
      const bodies = [
        "redis.call('set', KEYS[1], 'before') local t = {} for i = 1, 1e7 do t[i] = 'k' .. i end redis.call('set', KEYS[1], 'after')",
        "local ok = pcall(function() local t = {} for i = 1, 1e7 do t[i] = 'k' .. i end end) redis.call('set', KEYS[1], 'caught') return ok",
        "local co = coroutine.create(function() local t = {} for i = 1, 1e7 do t[i] = 'k' .. i end end) " +
          "local ok = coroutine.resume(co) redis.call('set', KEYS[1], 'resumed') return ok",
        "return #string.rep('x', 1e8)",
      ];
      for (const body of bodies) {
        const [a, b] = vms.map((vm) => run(vm, body, 1_000_000));
        expect(a!.resp).toMatch(/^-ERR Script exceeded its memory budget script: [0-9a-f]{40}, on @user_script:1\.\r\n$/);
        expect(b).toEqual(a);
        expect(a!.charged).toBeGreaterThan(1_000_000);
      }
      expect(calls[0]).toEqual([['set', 'key', 'before']]);
      expect(calls[1]).toEqual(calls[0]);
      // The VMs keep working, and a script within the budget is not stopped.
      for (const vm of vms) expect(run(vm, "local t = {} for i = 1, 1000 do t[i] = 'k' .. i end return #t", 1_000_000).resp).toBe(':1000\r\n');
    });

    it('is off at 0, where only the heap limit stops a script', () => {
      const vm = new LuaVM({ call: () => ({ resp: '+OK\r\n' }) }, 8 * 1024 * 1024);
      expect(run(vm, "local t = {} for i = 1, 50000 do t[i] = 'k' .. i end return #t", 0).resp).toBe(':50000\r\n');
      expect(run(vm, 'local t = {} for i = 1, 1e8 do t[i] = i end', 0).resp).toMatch(/not enough memory/);
    });
  });

  it('reset forgets every script', () => {
    const vm = new LuaVM({ call: () => ({ resp: '+OK\r\n' }) });
    const sha = loaded(vm, 'return 1');
    vm.reset();
    expect(vm.has(sha)).toBe(false);
    expect(vm.run(sha, [], [], { budget: 0, clientResp: 2 })).toBeUndefined();
  });
});
