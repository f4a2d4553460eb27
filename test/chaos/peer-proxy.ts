/**
 * Network partitions between raftis nodes, for the chaos tests: raftis has
 * no partition switch, so every node is told (through its --peers) that each
 * other member of its group listens on a proxy the test runs. The proxy reads
 * the dialer's Hello frame (src/transport/handshake.ts: cluster id, from, to)
 * to learn which node is calling which, then forwards bytes both ways.
 *
 * cut(group, side) partitions the group: every link between a node in `side`
 * and one outside it goes silent in both directions — bytes are read and
 * dropped, nothing is closed, as a real partition looks (the nodes find out by
 * their own timeouts). A connection opened across the cut while it lasts is
 * accepted and stays silent too. heal() closes the silenced connections so the
 * nodes dial again, and forwarding resumes.
 *
 * What it does not cover: a node's own peer address is its real port (it
 * must listen on what its --peers entry says), so a node that loads member
 * addresses from a snapshot made by the leader reaches that leader directly;
 * links between groups (client-port RESP calls, src/util/resp-call.ts) are not
 * proxied. Both are reported by the test rather than hidden.
 */
import net from 'node:net';
import { FRAME_HEADER_BYTES, FrameType } from '../../src/transport/frame.js';
import { decodeHello } from '../../src/transport/handshake.js';

interface Link {
  group: number;
  from: number;
  to: number;
  down: net.Socket;
  up: net.Socket | undefined;
  silent: boolean;
}

export class PeerProxies {
  private readonly servers = new Map<string, { server: net.Server; port: number }>();
  private readonly links = new Set<Link>();
  /** Per group: the nodes on one side of the cut (undefined: no cut). */
  private readonly cuts = new Map<number, Set<number>>();
  /** Connections seen, and those whose Hello could not be read (forwarded blind: not partitionable). */
  readonly stats = { connections: 0, silenced: 0, unparsed: 0 };

  /** The proxy port for `to` (group `group`, peer port `port` on 127.0.0.1), made on first use. */
  async portFor(group: number, to: number, port: number): Promise<number> {
    const key = `${group}/${to}`;
    const have = this.servers.get(key);
    if (have !== undefined) return have.port;
    const server = net.createServer((sock) => this.accept(group, to, port, sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    const p = typeof addr === 'object' && addr !== null ? addr.port : 0;
    this.servers.set(key, { server, port: p });
    return p;
  }

  private blocked(group: number, a: number, b: number): boolean {
    const side = this.cuts.get(group);
    return side !== undefined && side.has(a) !== side.has(b);
  }

  private accept(group: number, to: number, port: number, down: net.Socket): void {
    this.stats.connections++;
    down.setNoDelay(true);
    down.on('error', () => {});
    let head: Buffer = Buffer.alloc(0);
    let link: Link | undefined;
    const onData = (d: Buffer): void => {
      if (link !== undefined) {
        if (!link.silent) link.up?.write(d);
        return;
      }
      head = Buffer.concat([head, d]);
      if (head.length < FRAME_HEADER_BYTES) return;
      const len = head.readUInt32BE(0);
      if (head.length < 4 + len) return;
      let from = -1;
      if (head[5] === FrameType.Hello) {
        try {
          from = decodeHello(head.subarray(FRAME_HEADER_BYTES, 4 + len)).from;
        } catch {
          from = -1;
        }
      }
      if (from < 0) this.stats.unparsed++;
      link = { group, from, to, down, up: undefined, silent: from >= 0 && this.blocked(group, from, to) };
      this.links.add(link);
      if (link.silent) {
        this.stats.silenced++;
        return;
      }
      this.connectUp(link, port, head);
    };
    down.on('data', onData);
    down.on('close', () => {
      if (link !== undefined) {
        link.up?.destroy();
        this.links.delete(link);
      }
    });
  }

  private connectUp(link: Link, port: number, first: Buffer): void {
    const up = net.connect(port, '127.0.0.1');
    up.setNoDelay(true);
    link.up = up;
    up.on('error', () => {});
    up.on('data', (d: Buffer) => {
      if (!link.silent) link.down.write(d);
    });
    up.on('close', () => link.down.destroy());
    up.write(first);
  }

  /** Partitions group `group`: `side` on one side, its other members on the other. */
  cut(group: number, side: readonly number[]): void {
    this.cuts.set(group, new Set(side));
    for (const l of this.links) {
      if (l.group === group && l.from >= 0 && this.blocked(group, l.from, l.to) && !l.silent) {
        l.silent = true;
        this.stats.silenced++;
      }
    }
  }

  /** Ends the cut of `group` (every group when undefined): silenced connections are closed, so nodes dial again. */
  heal(group?: number): void {
    if (group === undefined) this.cuts.clear();
    else this.cuts.delete(group);
    for (const l of [...this.links]) {
      if ((group === undefined || l.group === group) && l.silent) {
        l.down.destroy();
        l.up?.destroy();
        this.links.delete(l);
      }
    }
  }

  async close(): Promise<void> {
    this.heal();
    for (const l of this.links) {
      l.down.destroy();
      l.up?.destroy();
    }
    this.links.clear();
    await Promise.all([...this.servers.values()].map(({ server }) => new Promise((r) => server.close(r))));
    this.servers.clear();
  }
}
