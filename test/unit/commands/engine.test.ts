/**
 * The test Engine (test/helpers/engine.ts) resolves commands through the
 * server's command table: the same rejections, word for word, as the
 * dispatcher; connection/server commands, which need a client and a server,
 * are refused with a thrown Error instead of a made-up reply.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../../helpers/engine.js';

describe('test engine', () => {
  it('rejects as the command table does: unknown command, unknown subcommand, arity, protected command', () => {
    const e = new Engine();
    expect(e.call('NOPE', 'a', 'b')).toBe("-ERR unknown command 'NOPE', with args beginning with: 'a' 'b' \r\n");
    expect(e.call('OBJECT', 'NOPE', 'k')).toBe("-ERR unknown subcommand 'NOPE'. Try OBJECT HELP.\r\n");
    expect(e.call('GET')).toBe("-ERR wrong number of arguments for 'get' command\r\n");
    expect(e.call('OBJECT')).toBe("-ERR wrong number of arguments for 'object' command\r\n");
    expect(e.call('OBJECT', 'ENCODING')).toBe("-ERR wrong number of arguments for 'object|encoding' command\r\n");
    expect(e.call('DEBUG', 'SLEEP', '0')).toMatch(/^-ERR DEBUG command not allowed\. /);
  });

  it('runs keyspace commands, subcommands included, whatever their case', () => {
    const e = new Engine();
    expect(e.call('set', 'k', '12345')).toBe('+OK\r\n');
    expect(e.call('GeT', 'k')).toBe('$5\r\n12345\r\n');
    expect(e.call('object', 'encoding', 'k')).toBe('$3\r\nint\r\n');
  });

  it('throws for a connection or server command instead of faking its reply', () => {
    const e = new Engine();
    expect(() => e.call('PING')).toThrow('ping is a connection/server command');
    expect(() => e.call('CLIENT', 'ID')).toThrow('client|id is a connection/server command');
    expect(() => e.call('CONFIG', 'GET', 'timeout')).toThrow('config|get is a connection/server command');
  });
});
