import { afterEach, describe, expect, it } from 'vitest';
import { formatJsonLine, setLogNode } from '../../../src/util/log.js';

describe('--log-format json lines', () => {
  afterEach(() => setLogNode(1));

  it('have time, level, node, component and msg first, then the fields', () => {
    setLogNode(3);
    const line = formatJsonLine(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)), 'info', 'node', ['became the leader (term 7)', { term: 7 }]);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.split('\n').length).toBe(2);
    const o = JSON.parse(line) as Record<string, unknown>;
    expect(o).toEqual({ time: '2026-01-02T03:04:05.006Z', level: 'info', node: 3, component: 'node', msg: 'became the leader (term 7)', term: 7 });
    expect(Object.keys(o)).toEqual(['time', 'level', 'node', 'component', 'msg', 'term']);
  });

  it('keep a message with newlines on one line, an error as message and stack, and never let fields replace the base keys', () => {
    const err = new Error('disk full');
    const o = JSON.parse(formatJsonLine(new Date(0), 'error', 'storage', ['write failed:\nretrying', err, { msg: 'x', bytes: 10n }])) as Record<string, unknown>;
    expect(o.msg).toBe('write failed:\nretrying disk full');
    expect(o.error).toMatch(/^Error: disk full\n/);
    expect(o.bytes).toBe('10');
    const single = formatJsonLine(new Date(0), 'warn', 'cli', [{ a: 1 }]);
    // A lone object is the message, not fields.
    expect((JSON.parse(single) as { msg: string }).msg).toBe('{"a":1}');
  });
});
