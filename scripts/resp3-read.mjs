import net from 'node:net';
// A small typed RESP3 reader for build scripts: keeps the reply types
// (simple vs bulk, map vs array, set) so they can be replayed in either protocol.
// Encoding as JSON: integer -> number, bulk -> string, simple -> {s}, array -> [],
// set -> {set: []}, map -> {map: [[k, v], ...]}, null -> null, double -> {d}, bool -> {b}.
export function readReply(buf, pos = 0) {
  const line = () => {
    const end = buf.indexOf('\r\n', pos, 'latin1');
    if (end < 0) return undefined;
    const s = buf.toString('latin1', pos + 1, end);
    pos = end + 2;
    return s;
  };
  const read = () => {
    if (pos >= buf.length) return undefined;
    const t = String.fromCharCode(buf[pos]);
    const s = line();
    if (s === undefined) return undefined;
    switch (t) {
      case '+': return { v: { s } };
      case '-': return { v: { err: s } };
      case ':': return { v: Number(s) };
      case ',': return { v: { d: s } };
      case '#': return { v: { b: s === 't' } };
      case '_': return { v: null };
      case '$': case '=': {
        const n = Number(s);
        if (n < 0) return { v: null };
        if (pos + n + 2 > buf.length) return undefined;
        const v = buf.toString('latin1', pos, pos + n);
        pos += n + 2;
        return { v };
      }
      case '*': case '~': case '>': {
        const n = Number(s);
        if (n < 0) return { v: null };
        const arr = [];
        for (let i = 0; i < n; i++) { const r = read(); if (!r) return undefined; arr.push(r.v); }
        return { v: t === '~' ? { set: arr } : arr };
      }
      case '%': {
        const n = Number(s);
        const pairs = [];
        for (let i = 0; i < n; i++) {
          const k = read(); if (!k) return undefined;
          const v = read(); if (!v) return undefined;
          pairs.push([k.v, v.v]);
        }
        return { v: { map: pairs } };
      }
      default: throw new Error('unknown RESP type ' + t);
    }
  };
  const r = read();
  return r === undefined ? undefined : { value: r.v, end: pos };
}

function encodeCommand(args) {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`;
  return Buffer.from(s, 'latin1');
}

/** A connection to 127.0.0.1:port: `call(...args)` resolves to the parsed reply, in order; `close()`. */
export function connectResp(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('error', reject);
    sock.once('connect', () => {
      let buf = Buffer.alloc(0);
      const waiting = [];
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          const r = readReply(buf);
          if (!r || waiting.length === 0) break;
          buf = buf.subarray(r.end);
          waiting.shift()(r.value);
        }
      });
      resolve({
        call: (...args) => new Promise((res) => { waiting.push(res); sock.write(encodeCommand(args)); }),
        close: () => sock.destroy(),
      });
    });
  });
}
