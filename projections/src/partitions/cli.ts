/**
 * `ledger-bridge partitions ensure [--months-ahead N] [--json] | list [--json]` against
 * DATABASE_DIRECT_URL. Exit status: 0 done, 1 failed (the reason on stderr), 2 bad usage.
 */
import { ensurePartitions, listPartitions, MONTHS_AHEAD_DEFAULT } from './manager';
import { type CliIo, PROCESS_IO, withDirectPool } from '../../../core/cli-io';

const USAGE = 'usage: partitions ensure [--months-ahead N] [--json] | list [--json]';

type Command =
  { kind: 'ensure'; monthsAhead: number; json: boolean } | { kind: 'list'; json: boolean };

function parseArgs(argv: string[]): Command | null {
  const [kind, ...rest] = argv;
  let json = false;
  let monthsAhead = MONTHS_AHEAD_DEFAULT;
  for (let index = 0; index < rest.length; index += 1) {
    const arg = rest[index];
    if (arg === '--json') json = true;
    else if (arg === '--months-ahead' && kind === 'ensure') {
      const value = rest[(index += 1)];
      if (value === undefined || !/^\d{1,3}$/.test(value) || Number(value) > 120) return null;
      monthsAhead = Number(value);
    } else return null;
  }
  if (kind === 'ensure') return { kind, monthsAhead, json };
  if (kind === 'list') return { kind, json };
  return null;
}

export async function runPartitions(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  const command = parseArgs(argv);
  if (command === null) {
    io.err(USAGE);
    return 2;
  }
  try {
    await withDirectPool(io, 'ledger-bridge-partitions', async (pool) => {
      if (command.kind === 'ensure') {
        const result = await ensurePartitions(pool, { monthsAhead: command.monthsAhead });
        if (command.json) io.out(JSON.stringify(result));
        else {
          for (const name of result.partitions) {
            io.out(`${name} ${result.created.includes(name) ? 'created' : 'exists'}`);
          }
        }
      } else {
        const partitions = await listPartitions(pool);
        if (command.json) {
          const rows = partitions.map((p) => ({ ...p, rowsEstimate: p.rowsEstimate.toString() }));
          io.out(JSON.stringify(rows));
        } else {
          for (const p of partitions) io.out(`${p.name.padEnd(24)} ${p.bounds}`);
        }
      }
    });
    return 0;
  } catch (error) {
    io.err(`partitions ${command.kind} failed: ${(error as Error).message}`);
    return 1;
  }
}
