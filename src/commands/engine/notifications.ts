/**
 * The node's keyspace-event publisher: notify-keyspace-events (a
 * cluster-wide parameter, so every node emits the same classes) and
 * delivery to this node's own subscribers — never to peers: every node
 * applies the same writes and emits their events itself.
 */
import type { KeyspaceHooks } from '../../keyspace/keyspace.js';
import { Notify, type KeyspaceEvents } from '../notify.js';
import type { PubSub } from './pubsub.js';

export class KeyspaceNotifier implements KeyspaceEvents {
  flags = 0;

  constructor(private readonly pubsub: PubSub) {}

  emit(event: string, key: string, db: number): void {
    const ps = this.pubsub;
    // Nobody listens to anything: nothing to build.
    if (ps.channels.size === 0 && ps.patterns.size === 0) return;
    if ((this.flags & Notify.Keyspace) !== 0) ps.deliver(`__keyspace@${db}__:${key}`, event);
    if ((this.flags & Notify.Keyevent) !== 0) ps.deliver(`__keyevent@${db}__:${event}`, key);
  }

  /** The keyspace's own events for database `db`: keys that expire when a write or active expiry deletes them, new keys, read misses. */
  hooksFor(db: number): KeyspaceHooks {
    return {
      expired: (key) => {
        if ((this.flags & Notify.Expired) !== 0) this.emit('expired', key, db);
      },
      added: (key) => {
        if ((this.flags & Notify.New) !== 0) this.emit('new', key, db);
      },
      missed: (key) => {
        if ((this.flags & Notify.KeyMiss) !== 0) this.emit('keymiss', key, db);
      },
    };
  }
}
