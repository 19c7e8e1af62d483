/**
 * `ledger-bridge reconcile [--since <iso>] [--until <iso>] [--json] [--settle-ms <n>]
 * [--wait-ms <n>] [--no-wait] [--examples <n>]`: TigerBeetle against PostgreSQL (reconcile.ts).
 *
 * Exit status: 0 clean, 1 any mismatch, 2 bad usage, an error, or no safe horizon (the projection
 * did not catch up within --wait-ms: nothing was compared, so nothing can be called clean).
 *
 * The ledger is opened as the bridge opens it (ledger/open.ts): a TigerBeetle client
 * when TB_ADDRESSES is set (production; any number of clients may connect), else the embedded
 * engine on ENGINE_DATA_DIR. The engine allows one process per data directory, so while a bridge
 * runs on it the CLI cannot open it and says so (exit 2).
 *
 * The horizon is proven from Kafka (horizon.ts): each feed's topic (the outcome topic and the
 * change topic) against the checkpoints of its runner's group (PROJECTIONS_GROUP_ID, and
 * `<it>.changes`); the earlier is the horizon. `--no-wait` skips that proof and trusts the settle
 * delay alone (a quiet system, or a store written without Kafka).
 */
import pino from 'pino';
import { loadConfig } from '../../../core/config';
import { createKafkaClient } from '../../../events/kafka';
import { openLedger } from '../../../ledger/open';
import type { Ledger } from '../../../ledger/port';
import { createDirectPool } from '../../../core/postgres/pool';
import { DataDirLockedError } from '../../../ledger/engine/lock';
import { loadProjectionsConfig } from '../config';
import {
  CATCH_UP_WAIT_MS_DEFAULT,
  type HorizonSource,
  feedsCaughtUpHorizon,
  SETTLE_DELAY_MS_DEFAULT,
  settledHorizon,
} from './horizon';
import { reconcile } from './reconcile';
import { EXAMPLES_PER_KIND_DEFAULT, formatReport } from './report';
import { type CliIo, PROCESS_IO } from '../../../core/cli-io';
import { projectionFeeds } from '../feed';

const USAGE =
  'usage: reconcile [--since <iso>] [--until <iso>] [--json] [--settle-ms <n>] ' +
  '[--wait-ms <n>] [--no-wait] [--examples <n>]';

export interface CliArgs {
  sinceNs?: bigint;
  untilNs?: bigint;
  json: boolean;
  settleDelayMs: number;
  waitMs: number;
  noWait: boolean;
  examples: number;
}

const NS_PER_MS = 1_000_000n;

function isoToNs(text: string | undefined): bigint | null {
  if (text === undefined) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) && ms > 0 ? BigInt(ms) * NS_PER_MS : null;
}

function count(text: string | undefined): number | null {
  return text !== undefined && /^\d{1,9}$/.test(text) ? Number(text) : null;
}

export function parseArgs(argv: readonly string[]): CliArgs | null {
  const args: CliArgs = {
    json: false,
    settleDelayMs: SETTLE_DELAY_MS_DEFAULT,
    waitMs: CATCH_UP_WAIT_MS_DEFAULT,
    noWait: false,
    examples: EXAMPLES_PER_KIND_DEFAULT,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (arg === '--json') args.json = true;
    else if (arg === '--no-wait') args.noWait = true;
    else if (arg === '--since' || arg === '--until') {
      const ns = isoToNs(value);
      if (ns === null) return null;
      if (arg === '--since') args.sinceNs = ns;
      else args.untilNs = ns;
      i++;
    } else if (arg === '--settle-ms' || arg === '--wait-ms' || arg === '--examples') {
      const n = count(value);
      if (n === null) return null;
      if (arg === '--settle-ms') args.settleDelayMs = n;
      else if (arg === '--wait-ms') args.waitMs = n;
      else args.examples = n;
      i++;
    } else return null;
  }
  return args;
}

function lockedMessage(error: Error, dataDir: string): string {
  return (
    `cannot open the embedded ledger engine: ${error.message}.\n` +
    `The embedded engine allows one process per data directory (${dataDir}), and a running ` +
    'bridge holds it. Set ENGINE_ADDRESS and ENGINE_SECRET to the shared engine server the ' +
    'bridge uses (`npm run engine`; `npm start` runs one), stop the bridge first, or set ' +
    'TB_ADDRESSES to reconcile against a TigerBeetle cluster, which any number of clients ' +
    'may read.'
  );
}

export async function runReconcile(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  const args = parseArgs(argv);
  if (args === null) {
    io.err(USAGE);
    return 2;
  }
  const closers: (() => Promise<void>)[] = [];
  try {
    const config = loadConfig(io.env);
    const projections = loadProjectionsConfig(io.env);
    const schema = projections.PROJECTIONS_DATABASE_SCHEMA;
    const db = createDirectPool({
      url: config.DATABASE_DIRECT_URL,
      max: 2,
      applicationName: 'ledger-bridge-reconcile',
      ...(schema === undefined ? {} : { searchPath: [schema] }),
    });
    closers.push(() => db.end());
    let ledger: Ledger;
    try {
      ledger = (await openLedger(config)).ledger;
    } catch (error) {
      if (error instanceof DataDirLockedError || (error as Error).name === 'DataDirLockedError') {
        io.err(lockedMessage(error as Error, config.ENGINE_DATA_DIR));
        return 2;
      }
      throw error;
    }
    closers.push(() => ledger.close());
    let horizon: HorizonSource;
    if (args.noWait) {
      horizon = settledHorizon({ settleDelayMs: args.settleDelayMs });
    } else {
      // Logs on stderr: stdout carries the report (--json is piped into tools).
      const logger = pino({ level: config.LOG_LEVEL }, pino.destination(2));
      const clientId = `${config.KAFKA_CLIENT_ID}-reconcile`;
      const kafka = createKafkaClient(config.KAFKA_BROKERS, clientId, logger);
      const admin = kafka.admin();
      await admin.connect();
      closers.push(() => admin.disconnect());
      horizon = feedsCaughtUpHorizon({
        admin,
        db,
        feeds: projectionFeeds(config),
        settleDelayMs: args.settleDelayMs,
        waitMs: args.waitMs,
      });
    }
    const report = await reconcile(
      { db, ledger, horizon },
      { timestampMin: args.sinceNs, timestampMax: args.untilNs, examplesPerKind: args.examples },
    );
    io.out(args.json ? JSON.stringify(report) : formatReport(report));
    if (report.deferred !== null) {
      // The text report's last line already says so; JSON is for tools, this line for a person.
      if (args.json) io.err(`reconcile deferred: ${report.deferred}`);
      return 2;
    }
    return report.mismatchCount === 0 ? 0 : 1;
  } catch (error) {
    io.err(`reconcile failed: ${(error as Error).message}`);
    return 2;
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  }
}
