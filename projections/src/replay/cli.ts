/**
 * `ledger-bridge projections replay-dlq [--dry-run] [--topic <topic>]`: replays the dead letters
 * not replayed yet (replay.ts) through the worker's own projections of each feed (the outcome
 * topic with PROJECTIONS_GROUP_ID, the change topic with its group; PROJECTIONS_ONLY respected),
 * against DATABASE_DIRECT_URL (PROJECTIONS_DATABASE_SCHEMA selects a schema). `runReplayDlq`
 * takes the arguments after `replay-dlq`.
 *
 * Exit status: 0 every pending dead letter replayed (or none pending), 1 some still fail (each
 * listed with its reason and error on stdout) or the replay could not run, 2 bad usage.
 */
import { loadConfig } from '../../../core/config';
import { createDirectPool } from '../../../core/postgres/pool';
import { CHANGE_PROJECTIONS, OUTCOME_PROJECTIONS } from '../all';
import { changeFeed } from '../changes/feed';
import { type CliIo, PROCESS_IO } from '../../../core/cli-io';
import { loadProjectionsConfig, type ProjectionsConfig } from '../config';
import { deadLetterTableExists } from '../dead-letter-table';
import { changeGroupOf, outcomeFeed } from '../feed';
import { selectProjections } from '../worker';
import { feedTarget, replayDeadLetters, type ReplayReport, type ReplayTarget } from './replay';

const USAGE = 'usage: ledger-bridge projections replay-dlq [--dry-run] [--topic <topic>]';

/** Failures listed one by one; a longer list ends with how many more. */
const FAILURES_LISTED_MAX = 50;

export interface ReplayArgs {
  dryRun: boolean;
  topic?: string;
}

export function parseReplayArgs(argv: readonly string[]): ReplayArgs | null {
  const args: ReplayArgs = { dryRun: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--dry-run') args.dryRun = true;
    else if (arg === '--topic' && args.topic === undefined && argv[i + 1] !== undefined) {
      args.topic = argv[++i]!;
    } else if (arg.startsWith('--topic=') && args.topic === undefined) {
      args.topic = arg.slice('--topic='.length);
    } else return null;
  }
  return args.topic === '' ? null : args;
}

/** The worker's two runners, as replay targets. */
export function workerTargets(
  config: {
    KAFKA_OUTCOMES_TOPIC: string;
    KAFKA_CHANGES_TOPIC: string;
    PROJECTIONS_GROUP_ID: string;
  },
  settings: Pick<ProjectionsConfig, 'PROJECTIONS_ONLY'>,
): ReplayTarget[] {
  const only = settings.PROJECTIONS_ONLY;
  return [
    feedTarget(
      config.PROJECTIONS_GROUP_ID,
      config.KAFKA_OUTCOMES_TOPIC,
      outcomeFeed,
      selectProjections(OUTCOME_PROJECTIONS, only, CHANGE_PROJECTIONS),
    ),
    feedTarget(
      changeGroupOf(config.PROJECTIONS_GROUP_ID),
      config.KAFKA_CHANGES_TOPIC,
      changeFeed,
      selectProjections(CHANGE_PROJECTIONS, only, OUTCOME_PROJECTIONS),
    ),
  ];
}

export function formatReplay(report: ReplayReport): string[] {
  const lines: string[] = [];
  const still = report.failed.length;
  lines.push(
    report.dryRun
      ? `dry run: ${report.pending} pending, ${report.replayed} would replay, ` +
          `${still} would still fail; nothing changed`
      : `${report.pending} pending: ${report.replayed} replayed, ${still} still failing`,
  );
  for (const f of report.failed.slice(0, FAILURES_LISTED_MAX)) {
    lines.push(`  ${f.topic}/${f.partition} offset ${f.offset} (${f.reason}): ${f.error}`);
  }
  if (still > FAILURES_LISTED_MAX) lines.push(`  … and ${still - FAILURES_LISTED_MAX} more`);
  return lines;
}

export async function runReplayDlq(
  argv: readonly string[],
  io: CliIo = PROCESS_IO,
): Promise<number> {
  const args = parseReplayArgs(argv);
  if (args === null) {
    io.err(USAGE);
    return 2;
  }
  const config = loadConfig(io.env);
  const settings = loadProjectionsConfig(io.env);
  let targets = workerTargets(config, settings);
  if (args.topic !== undefined) {
    targets = targets.filter((target) => target.topic === args.topic);
    if (targets.length === 0) {
      io.err(
        `unknown topic ${args.topic}: the projections follow ${[config.KAFKA_OUTCOMES_TOPIC, config.KAFKA_CHANGES_TOPIC].join(', ')}`,
      );
      return 2;
    }
  }
  const schema = settings.PROJECTIONS_DATABASE_SCHEMA;
  const db = createDirectPool({
    url: config.DATABASE_DIRECT_URL,
    max: 1,
    applicationName: 'ledger-bridge-replay-dlq',
    ...(schema === undefined ? {} : { searchPath: [schema] }),
  });
  try {
    if (!(await deadLetterTableExists(db))) {
      io.err('projection_dead_letter does not exist: run `ledger-bridge migrate up` first');
      return 1;
    }
    const report = await replayDeadLetters({ db, targets, dryRun: args.dryRun });
    for (const line of formatReplay(report)) io.out(line);
    return report.failed.length === 0 ? 0 : 1;
  } catch (error) {
    io.err(`replay-dlq failed: ${(error as Error).message}`);
    return 1;
  } finally {
    await db.end();
  }
}
