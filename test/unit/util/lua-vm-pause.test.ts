/**
 * The wasm Lua VM's pause and resume (scripts run on a coroutine the count
 * hook may yield): a script paused at every chance gives the same reply,
 * error text, redis.call sequence, math.random numbers and memory-budget
 * charge as one run to its end; SCRIPT KILL stops a paused script.
 */
import { describe, expect, it } from 'vitest';
import { LuaVM, PAUSED, sha1hex, type EvalOptions, type EvalResult } from '../../../src/util/lua/vm.js';

interface Outcome {
  result: EvalResult | undefined;
  calls: string[][];
  charged: number;
  pauses: number;
}

/** A VM whose redis.call records its calls and answers them (ERR for FAIL, +OK else). */
function vmWithCalls(functionsMode = false): { vm: LuaVM; calls: string[][] } {
  const calls: string[][] = [];
  const vm = new LuaVM(
    {
      call: (argv) => {
        calls.push(argv);
        if (argv[0] === 'FAIL') return { resp: '-ERR failed here\r\n' };
        if (argv[0] === 'NOPE') return { scriptError: 'Unknown Redis command called from script' };
        return { resp: '+OK\r\n' };
      },
    },
    64 * 1024 * 1024,
    functionsMode,
  );
  return { vm, calls };
}

const MAX_PAUSES = 200_000;

/** Runs body unpaused in one VM and paused at every chance (a pause check at every hook) in another. */
function both(body: string, opts: Omit<EvalOptions, 'clientResp'>, keys: string[] = [], args: string[] = []): { plain: Outcome; paused: Outcome } {
  const sha = sha1hex(body);
  const a = vmWithCalls();
  expect(a.vm.load(sha, body)).toBeUndefined();
  const plainResult = a.vm.run(sha, keys, args, { ...opts, clientResp: 2 });
  const plain: Outcome = { result: plainResult, calls: a.calls, charged: a.vm.lastCharged(), pauses: 0 };

  const b = vmWithCalls();
  expect(b.vm.load(sha, body)).toBeUndefined();
  b.vm.setCheckPeriod(1);
  let r = b.vm.start(sha, keys, args, { ...opts, clientResp: 2, sliceMs: 0 });
  let pauses = 0;
  while (r === PAUSED && pauses < MAX_PAUSES) {
    expect(b.vm.paused).toBe(true);
    pauses++;
    r = b.vm.resume();
  }
  expect(r).not.toBe(PAUSED);
  expect(b.vm.paused).toBe(false);
  const paused: Outcome = { result: r as EvalResult | undefined, calls: b.calls, charged: b.vm.lastCharged(), pauses };
  // The VM is usable after (a new coroutine after an error).
  const ok = 'return 7';
  expect(b.vm.load(sha1hex(ok), ok)).toBeUndefined();
  expect(b.vm.run(sha1hex(ok), [], [], { budget: 1e6, clientResp: 2 })!.resp).toBe(':7\r\n');
  return { plain, paused };
}

function same(body: string, opts: Omit<EvalOptions, 'clientResp'>, minPauses = 1): Outcome {
  const { plain, paused } = both(body, opts, ['k1', 'k2'], ['a1']);
  expect(paused.result).toEqual(plain.result);
  expect(paused.calls).toEqual(plain.calls);
  expect(paused.charged).toBe(plain.charged);
  expect(paused.pauses).toBeGreaterThanOrEqual(minPauses);
  return plain;
}

const B = { budget: 5_000_000, memoryBudget: 64 * 1024 * 1024, seed: 1234 };

describe('LuaVM pause and resume', () => {
  it('gives the same result for a long computation, with math.random reseeded', () => {
    const r = same('local s = 0 for i = 1, 20000 do s = (s + math.random(1000) * i) % 1000003 end return {s, KEYS[2], ARGV[1]}', B, 100);
    expect(r.result!.resp).toMatch(/^\*3\r\n:\d+\r\n\$2\r\nk2\r\n\$2\r\na1\r\n$/);
  });

  it('stops at the instruction budget after the same redis.call', () => {
    const r = same("local i = 0 while true do i = i + 1 redis.call('PING', tostring(i)) end", { ...B, budget: 300_000 }, 100);
    expect(r.result!.resp).toBe('-ERR Script exceeded its instruction budget script: ' + sha1hex("local i = 0 while true do i = i + 1 redis.call('PING', tostring(i)) end") + ', on @user_script:1.\r\n');
    expect(r.calls.length).toBeGreaterThan(1000);
  });

  it('keeps the error texts: runtime errors, error(), redis.call errors, script errors', () => {
    const loop = 'for i = 1, 3000 do local x = i * 2 end\n';
    for (const tail of [
      'local t = nil\nreturn t.x',
      "error('boom')",
      "error({err='MYERR custom'})",
      "return redis.call('FAIL')",
      "return redis.call('NOPE')",
      "local ok, e = pcall(function() return redis.call('FAIL') end) return {ok, e.err}",
      "return redis.pcall('FAIL')",
      "local function f(n) if n == 0 then error('deep') end return f(n - 1) end return f(50)",
      'local function f(n) return f(n + 1) + 1 end return f(1)',
      'return coroutine.running()',
      'coroutine.yield(1)',
      "local t = {} setmetatable(t, {__index = function(t, k) error('idx ' .. k) end}) return t.zz",
      'return 1 + {}',
      "return redis.error_reply('E1 from reply')",
      "return redis.status_reply('fine')",
    ]) {
      same(loop + tail, B);
    }
  });

  it('continues scripts in pcall, sort comparators, gsub callbacks and their own coroutines (pausing after them)', () => {
    same(
      'local t = {} for i = 1, 3000 do t[i] = (i * 7919) % 3001 end\n' +
        'table.sort(t, function(a, b) return a > b end)\n' +
        "local s = string.gsub(string.rep('ab', 2000), 'a', function(c) return 'x' end)\n" +
        'local ok, v = pcall(function() local n = 0 for i = 1, 20000 do n = n + i end return n end)\n' +
        'local co = coroutine.wrap(function() for i = 1, 3000 do coroutine.yield(i) end end)\n' +
        'local c = 0 for i = 1, 3000 do c = c + co() end\n' +
        'return {t[1], t[3000], #s, v, c}',
      B,
      10,
    );
  });

  it('charges the memory budget the same and stops at the same operation', () => {
    same("local t = {} for i = 1, 100000 do t[i] = 'k' .. i redis.call('SET', 'x', 'y') end return #t", { ...B, memoryBudget: 2 * 1024 * 1024 });
  });

  it('runs a function (FCALL) paused the same', () => {
    const code = "redis.register_function('f', function(keys, args) local s = 0 for i = 1, 30000 do s = s + i end redis.call('SET', keys[1], s) return {s, args[1]} end)";
    const one = (paused: boolean): { r: EvalResult | undefined; calls: string[][]; pauses: number } => {
      const { vm, calls } = vmWithCalls(true);
      const fns = vm.loadLibrary(code, 1e6);
      if (!Array.isArray(fns)) throw new Error(fns.error);
      if (!paused) return { r: vm.fcall(fns[0]!.ref, 'f', ['k'], ['a'], { budget: 1e6, clientResp: 3 }), calls, pauses: 0 };
      vm.setCheckPeriod(1);
      let r = vm.startFcall(fns[0]!.ref, 'f', ['k'], ['a'], { budget: 1e6, clientResp: 3, sliceMs: 0 });
      let pauses = 0;
      while (r === PAUSED && pauses < MAX_PAUSES) {
        pauses++;
        r = vm.resume();
      }
      return { r: r as EvalResult | undefined, calls, pauses };
    };
    const a = one(false);
    const b = one(true);
    expect(b.r).toEqual(a.r);
    expect(a.r!.resp).toBe('*2\r\n:450015000\r\n$1\r\na\r\n');
    expect(b.calls).toEqual(a.calls);
    expect(b.pauses).toBeGreaterThan(100);
  });

  it('refuses to run anything else while a script is paused', () => {
    const { vm } = vmWithCalls();
    const body = 'local s = 0 for i = 1, 100000 do s = s + i end return s';
    const sha = sha1hex(body);
    vm.load(sha, body);
    vm.setCheckPeriod(1);
    expect(vm.start(sha, [], [], { budget: 0, clientResp: 2, sliceMs: 0 })).toBe(PAUSED);
    expect(() => vm.run(sha, [], [], { budget: 0, clientResp: 2 })).toThrow(/paused/);
    expect(() => vm.load(sha1hex('return 1'), 'return 1')).toThrow(/paused/);
    let r = vm.resume(false, -1);
    expect(r).toEqual({ resp: ':5000050000\r\n', error: false });
    expect(() => vm.resume()).toThrow(/no paused script/);
  });

  it('a kill stops a paused script (also inside pcall) with Redis\'s text, and the VM goes on', () => {
    for (const body of ['local i = 0 while true do i = i + 1 end', 'while true do pcall(function() local i = 0 for j = 1, 1000 do i = i + j end end) end']) {
      const { vm } = vmWithCalls();
      const sha = sha1hex(body);
      vm.load(sha, body);
      vm.setCheckPeriod(1);
      let r = vm.start(sha, [], [], { budget: 0, clientResp: 2, sliceMs: 0 });
      for (let i = 0; i < 3 && r === PAUSED; i++) r = vm.resume();
      expect(r).toBe(PAUSED);
      r = vm.resume(true);
      expect(r).toEqual({ resp: `-ERR Script killed by user with SCRIPT KILL... script: ${sha}, on @user_script:1.\r\n`, error: true });
      expect(vm.paused).toBe(false);
      expect(vm.run(sha1hex('return 7'), [], [], { budget: 0, clientResp: 2 })).toBeUndefined();
      vm.load(sha1hex('return 7'), 'return 7');
      expect(vm.run(sha1hex('return 7'), [], [], { budget: 0, clientResp: 2 })!.resp).toBe(':7\r\n');
    }
  });
});
