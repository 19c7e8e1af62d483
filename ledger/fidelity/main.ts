/**
 * `npm run fidelity -- --batches N [--seed S] [--shrink-seconds T]`: the differential fuzzer.
 *
 * Sends the seed's random batches to a fresh embedded engine and to the TigerBeetle cluster named
 * by TB_ADDRESSES / TB_CLUSTER_ID, compares every answer, prints a summary table, and on a
 * divergence the replay line and a shrunk reproducer. The seed is --seed, else SEED, else
 * random. Exit 0: no divergence; 1: a divergence; 2: bad usage or no cluster.
 */
import crypto from 'node:crypto';
import { runFidelity } from './fidelity';
import { formatFailure, formatSummary, replayLine } from './report';

const BATCHES_DEFAULT = 1000;
const SHRINK_SECONDS_DEFAULT = 180;

class UsageError extends Error {}

interface Args {
  batches: number;
  seed: number;
  shrinkSeconds: number;
}

function integer(name: string, text: string | undefined, max: number): number {
  const value = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || value > max) {
    throw new UsageError(`${name} must be an integer in [0, ${max}], got ${text ?? 'nothing'}`);
  }
  return value;
}

function parseArgs(argv: string[], env: NodeJS.ProcessEnv): Args {
  const flags = new Map<string, string | undefined>();
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]!;
    if (!['--batches', '--seed', '--shrink-seconds'].includes(flag)) {
      throw new UsageError(`unknown argument ${flag}`);
    }
    flags.set(flag, argv[i + 1]);
  }
  const seedText = flags.get('--seed') ?? (env.SEED === '' ? undefined : env.SEED);
  return {
    batches: flags.has('--batches')
      ? integer('--batches', flags.get('--batches'), 1_000_000)
      : BATCHES_DEFAULT,
    seed:
      seedText === undefined
        ? crypto.randomBytes(4).readUInt32LE()
        : integer('seed', seedText, 0xffff_ffff),
    shrinkSeconds: flags.has('--shrink-seconds')
      ? integer('--shrink-seconds', flags.get('--shrink-seconds'), 86_400)
      : SHRINK_SECONDS_DEFAULT,
  };
}

function cluster(env: NodeJS.ProcessEnv): { clusterId: bigint; addresses: string[] } {
  const addresses = (env.TB_ADDRESSES ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  if (addresses.length === 0) {
    throw new UsageError('TB_ADDRESSES must list the TigerBeetle replicas (e.g. 3001,3002,3003)');
  }
  const idText = env.TB_CLUSTER_ID ?? '0';
  if (!/^\d+$/.test(idText)) throw new UsageError(`TB_CLUSTER_ID must be a u128, got ${idText}`);
  return { clusterId: BigInt(idText), addresses };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2), process.env);
  const target = cluster(process.env);
  console.log(
    `fidelity: seed ${args.seed}, ${args.batches} batches, cluster ${target.clusterId} at ` +
      `${target.addresses.join(',')}`,
  );
  const report = await runFidelity({
    ...args,
    ...target,
    shrinkBudgetMs: args.shrinkSeconds * 1000,
  });
  console.log(formatSummary(report));
  if (report.divergence === null) {
    console.log(`no divergence (replay: ${replayLine(report)})`);
    return 0;
  }
  console.log(formatFailure(report));
  return 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`fidelity: ${error.message}`);
      process.exit(2);
    }
    console.error(error);
    process.exit(2);
  },
);
