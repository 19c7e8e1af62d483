/**
 * `ledger-bridge projections rebuild <name> [--from kafka|events]`: rebuilds one projection (see
 * rebuild.ts) against DATABASE_DIRECT_URL and KAFKA_BROKERS / KAFKA_OUTCOMES_TOPIC, then prints
 * each table's row count and digest. `runRebuild(argv)` takes the arguments after `rebuild`.
 * Exit status: 0 rebuilt, 1 failed (the reason on stderr; nothing changed), 2 bad usage.
 */
import { loadConfig } from '../../../core/config';
import { createKafkaClient } from '../../../events/kafka';
import { createLogger } from '../../../core/logger';
import { createDirectPool } from '../../../core/postgres/pool';
import { CHANGE_PROJECTIONS, OUTCOME_PROJECTIONS } from '../all';
import { changeFeed } from '../changes/feed';
import { rebuildProjection, RebuildError, type RebuildSource } from './rebuild';

const USAGE = 'usage: ledger-bridge projections rebuild <name> [--from kafka|events]';

/** Every projection of the worker, of either feed. */
function rebuildable(): { name: string }[] {
  return [...OUTCOME_PROJECTIONS, ...CHANGE_PROJECTIONS];
}

export function parseRebuildArgs(argv: readonly string[]): {
  name: string;
  from: RebuildSource;
} | null {
  let name: string | undefined;
  let from: string = 'kafka';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--from') from = argv[++i] ?? '';
    else if (arg.startsWith('--from=')) from = arg.slice('--from='.length);
    else if (arg.startsWith('-') || name !== undefined) return null;
    else name = arg;
  }
  if (name === undefined || (from !== 'kafka' && from !== 'events')) return null;
  return { name, from };
}

export async function runRebuild(argv: readonly string[]): Promise<number> {
  const args = parseRebuildArgs(argv);
  if (args === null) {
    console.error(USAGE);
    console.error(
      `projections: ${rebuildable()
        .map((p) => p.name)
        .join(', ')}`,
    );
    return 2;
  }
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL).child({ process: 'rebuild' });
  const db = createDirectPool({
    url: config.DATABASE_DIRECT_URL,
    max: 1,
    applicationName: 'ledger-bridge-rebuild',
    logger,
  });
  try {
    const common = {
      from: args.from,
      db,
      kafka: createKafkaClient(config.KAFKA_BROKERS, `${config.KAFKA_CLIENT_ID}-rebuild`, logger),
      logger,
    };
    const report = CHANGE_PROJECTIONS.some((p) => p.name === args.name)
      ? await rebuildProjection(args.name, {
          ...common,
          feed: changeFeed,
          topic: config.KAFKA_CHANGES_TOPIC,
          projections: CHANGE_PROJECTIONS,
        })
      : await rebuildProjection(args.name, {
          ...common,
          topic: config.KAFKA_OUTCOMES_TOPIC,
          projections: OUTCOME_PROJECTIONS,
        });
    console.log(
      `rebuilt ${report.projection} from ${report.from}: ${report.events} event(s), ` +
        `${report.undecodable} undecodable, ${report.ms} ms`,
    );
    for (const digest of report.digests) {
      console.log(
        `  ${digest.table.padEnd(32)} ${String(digest.rows).padStart(10)}  ${digest.md5}`,
      );
    }
    return 0;
  } catch (error) {
    if (error instanceof RebuildError) {
      console.error(`rebuild refused (${error.code}): ${error.message}`);
      return error.code === 'unknown_projection' ? 2 : 1;
    }
    console.error(error);
    return 1;
  } finally {
    await db.end();
  }
}
