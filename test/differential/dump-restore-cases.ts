/**
 * Values for the DUMP / RESTORE differential test: the commands that build
 * key `k`, and whether redis-server's DUMP must be byte-identical (every
 * encoding whose layout raftis reproduces: not hashtables, whose order is
 * redis-server's randomly seeded dict order).
 */
export interface DumpCase {
  name: string;
  setup: string[][];
  exact: boolean;
}

const range = (n: number, f: (i: number) => string[]): string[] => Array.from({ length: n }, (_, i) => f(i + 1)).flat();
const x = (n: number, c = 'x'): string => c.repeat(n);

export const DUMP_CASES: DumpCase[] = [
  { name: 'string int8', setup: [['SET', 'k', '-7']], exact: true },
  { name: 'string int16', setup: [['SET', 'k', '3000']], exact: true },
  { name: 'string int32', setup: [['SET', 'k', '-2000000000']], exact: true },
  { name: 'string int64', setup: [['SET', 'k', '9223372036854775807']], exact: true },
  { name: 'string not canonical int', setup: [['SET', 'k', '007']], exact: true },
  { name: 'string short', setup: [['SET', 'k', 'hello world']], exact: true },
  { name: 'string binary', setup: [['SET', 'k', '\x00\xff\r\n\x80']], exact: true },
  { name: 'string compressible', setup: [['SET', 'k', x(300, 'ab')]], exact: true },
  { name: 'string incompressible 21 bytes', setup: [['SET', 'k', 'abcdefghijklmnopqrstu']], exact: true },
  { name: 'string big', setup: [['SET', 'k', range(20000, (i) => [String(i * 7919 % 10007)]).join(',')]], exact: true },
  { name: 'list small', setup: [['RPUSH', 'k', 'a', 'b', '1', '-5000', '100000', '-9223372036854775808', x(70), x(5000)]], exact: true },
  { name: 'list many nodes', setup: [['RPUSH', 'k', ...range(3000, (i) => ['e' + i])]], exact: true },
  { name: 'list big elements', setup: [['RPUSH', 'k', ...range(300, (i) => [x(100) + i])]], exact: true },
  { name: 'list huge element', setup: [['RPUSH', 'k', 'a', x(20000, 'q'), 'b']], exact: true },
  { name: 'list built at the head (node boundaries may differ)', setup: [['LPUSH', 'k', ...range(2000, (i) => ['h' + i])], ['LINSERT', 'k', 'BEFORE', 'h5', 'mid'], ['LREM', 'k', '0', 'h7']], exact: false },
  { name: 'hash listpack', setup: [['HSET', 'k', 'a', '1', 'b', 'two', 'c', '-3', 'n', x(64)], ['HDEL', 'k', 'b'], ['HSET', 'k', 'a', 'again']], exact: true },
  { name: 'hash hashtable (long value)', setup: [['HSET', 'k', 'a', '1', 'b', x(65)]], exact: false },
  { name: 'hash hashtable (many fields)', setup: [['HSET', 'k', ...range(600, (i) => ['f' + i, String(i)])]], exact: false },
  { name: 'hash shrunk after becoming a hashtable', setup: [['HSET', 'k', 'a', '1', 'b', x(65)], ['HDEL', 'k', 'b']], exact: false },
  { name: 'set intset 16', setup: [['SADD', 'k', '5', '-3', '1000']], exact: true },
  { name: 'set intset 32', setup: [['SADD', 'k', '5', '70000', '-3']], exact: true },
  { name: 'set intset 64', setup: [['SADD', 'k', '5', '-9223372036854775808', '4000000000']], exact: true },
  { name: 'set intset big', setup: [['SADD', 'k', ...range(500, (i) => [String(i * 3)])]], exact: true },
  { name: 'set hashtable', setup: [['SADD', 'k', 'a', 'b', '1']], exact: false },
  { name: 'set hashtable (many ints)', setup: [['SADD', 'k', ...range(600, (i) => [String(i)])]], exact: false },
  { name: 'zset listpack', setup: [['ZADD', 'k', '1', 'a', '2.5', 'b', '-0', 'c', '0.1', 'd', '1e20', 'e', 'inf', 'f', '-inf', 'g', '3', '12']], exact: true },
  { name: 'zset skiplist (long member)', setup: [['ZADD', 'k', '1', 'a', '2', x(65), '-1.5', 'z']], exact: true },
  { name: 'zset skiplist (many)', setup: [['ZADD', 'k', ...range(300, (i) => [String(i / 7), 'm' + (i % 50) + '-' + i])]], exact: true },
  {
    name: 'stream simple',
    setup: [['XADD', 'k', '1-1', 'a', '1', 'b', '2'], ['XADD', 'k', '1-2', 'a', '3', 'c', 'x'], ['XADD', 'k', '5-0', 'a', '1', 'b', x(100)]],
    exact: true,
  },
  {
    name: 'stream many nodes with deletions',
    setup: [
      ...Array.from({ length: 350 }, (_, j) => ['XADD', 'k', `${j + 1}-${j % 3}`, 'f', String(j), 'g', j % 5 === 0 ? 'v' + j : String(-j)]),
      ['XDEL', 'k', '3-0', '150-0', '151-1'],
      ['XTRIM', 'k', 'MAXLEN', '300'],
    ],
    exact: true,
  },
  { name: 'stream empty after XDEL', setup: [['XADD', 'k', '1-1', 'a', '1'], ['XDEL', 'k', '1-1']], exact: true },
  { name: 'stream with empty group', setup: [['XADD', 'k', '7-1', 'a', '1'], ['XGROUP', 'CREATE', 'k', 'g1', '$'], ['XGROUP', 'CREATE', 'k', '123', '0']], exact: true },
  {
    name: 'stream with consumers and pending entries (delivery times differ)',
    setup: [
      ['XADD', 'k', '1-1', 'a', '1'],
      ['XADD', 'k', '2-1', 'a', '2'],
      ['XADD', 'k', '3-1', 'b', '3'],
      ['XGROUP', 'CREATE', 'k', 'g', '0'],
      ['XGROUP', 'CREATE', 'k', 'h', '0'],
      ['XREADGROUP', 'GROUP', 'g', 'alice', 'COUNT', '2', 'STREAMS', 'k', '>'],
      ['XREADGROUP', 'GROUP', 'g', 'bob', 'STREAMS', 'k', '>'],
      ['XREADGROUP', 'GROUP', 'h', 'carol', 'COUNT', '1', 'STREAMS', 'k', '>'],
      ['XGROUP', 'CREATECONSUMER', 'k', 'h', 'dave'],
      ['XCLAIM', 'k', 'g', 'bob', '0', '1-1', 'RETRYCOUNT', '7'],
      ['XACK', 'k', 'g', '2-1'],
    ],
    exact: false,
  },
];
