/**
 * `ledger-bridge <command>`: the operator's commands, one dispatcher over the modules that own
 * them. Exit status: 0 done or clean, 1 a finding (tampering, mismatches) or a failure, 2 bad usage.
 */
import { runMigrate } from '../core/postgres/migrate-cli';

const USAGE = `usage: ledger-bridge <command>

  migrate up | down [n] | status         apply or revert PostgreSQL migrations
  verify [--full] [--json]               check the hash chain of ledger_event
  reconcile [options]                    compare TigerBeetle with the PostgreSQL projections
                                         (reconcile --help for options)
  projections rebuild <name> [--from kafka|events]
                                         rebuild a projection's tables from scratch
  projections replay-dlq [--dry-run] [--topic T]
                                         apply the events the projections dead-lettered
  partitions ensure [--months-ahead n] | list
                                         keep ledger_event's monthly partitions ahead
  keys create | list | rotate | revoke   API keys (keys --help for options)`;

type Command = (argv: string[]) => Promise<number>;

// Loaded on demand: each command pulls in only what it needs (kafkajs, the ledger client, ...).
const COMMANDS: Record<string, Command> = {
  migrate: runMigrate,
  verify: async (argv) =>
    (await import('../projections/src/hash-chain/verify-cli')).runVerify(argv),
  reconcile: async (argv) => (await import('../projections/src/reconcile/cli')).runReconcile(argv),
  keys: async (argv) => (await import('../bridge/src/access/keys-cli')).runKeys(argv),
  partitions: async (argv) =>
    (await import('../projections/src/partitions/cli')).runPartitions(argv),
  projections: async ([sub, ...rest]) => {
    if (sub === 'rebuild') return (await import('../projections/src/rebuild/cli')).runRebuild(rest);
    if (sub === 'replay-dlq') {
      return (await import('../projections/src/replay/cli')).runReplayDlq(rest);
    }
    console.error(USAGE);
    return 2;
  },
};

export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : COMMANDS[name];
  if (command === undefined) {
    console.error(USAGE);
    return name === '--help' || name === 'help' ? 0 : 2;
  }
  return command(rest);
}

if (require.main === module) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
