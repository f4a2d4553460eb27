/**
 * The commands and subcommands raftis has that redis-server 7.0 lacks (its
 * RAFT.* commands, and CLIENT SETINFO from Redis 7.2), as
 * src/commands/extra-commands.json adds them: differential tests leave them out.
 */
import extra from '../../src/commands/extra-commands.json' with { type: 'json' };

export const OWN_COMMANDS: ReadonlySet<string> = new Set([
  ...Object.keys(extra.commands),
  ...Object.values(extra.subcommands).flatMap((subs) => subs.map((s) => s.info[0] as string)),
]);
