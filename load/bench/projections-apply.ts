/**
 * Where a projection's time goes, without Kafka and immune to the host's other load:
 * `npx tsx load/bench/projections-apply.ts [--events 40000] [--batch 5000] [--partitions 6]`.
 *
 * The synthetic ledger events of ./projections.ts (an outcome and its change event's two
 * records each), decoded by the feeds, are applied in this one process over ONE connection,
 * partition by partition, `--batch` events per transaction, to every projection of both feeds
 * (projections/src/all.ts), in a fresh schema dropped at the end. Around each `apply` it reads
 * the CPU time of this process (the projection's JavaScript: rows, hashes, parameters) and of
 * the PostgreSQL backend serving the connection (/proc/<pid>/stat: the statements, their index
 * and WAL work), so each projection's cost is CPU µs per ledger event, on each side. CPU time,
 * unlike wall time, barely moves when other processes share the cores.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { changeRecords } from '../../changefeed/records';
import { loadConfig } from '../../core/config';
import { migrateUp } from '../../core/postgres/migrate';
import { createDirectPool } from '../../core/postgres/pool';
import { encodeChange } from '../../events/change';
import { encodeOutcome } from '../../events/schema';
import { syntheticOutcome } from '../../events/synthetic';
import { syntheticChange } from '../../events/synthetic-change';
import { CHANGE_PROJECTIONS, OUTCOME_PROJECTIONS } from '../../projections/src/all';
import { changeFeed, type ProjectedChange } from '../../projections/src/changes/feed';
import { type Feed, outcomeFeed } from '../../projections/src/feed';
import type { Located, ProjectedEvent, Projection } from '../../projections/src/projection';
import { pidsMs } from './proc-cpu';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '40000' },
    batch: { type: 'string', default: '5000' },
    partitions: { type: 'string', default: '6' },
  },
});
const EVENTS = Number(args.events);
const BATCH = Number(args.batch);
const PARTITIONS = Number(args.partitions);
const RUN = randomBytes(4).toString('hex');

interface Cost {
  js: number;
  pg: number;
  wall: number;
}

/** Records of one feed per partition, in offset order, decoded. */
function feedRecords<E extends Located>(
  feed: Feed<E>,
  topic: string,
  records: { key: string; value: Buffer; partition: number }[],
): E[][] {
  const parts: E[][] = Array.from({ length: PARTITIONS }, () => []);
  for (const record of records) {
    const offset = String(parts[record.partition]!.length);
    const key = Buffer.from(record.key);
    const at = { key, value: record.value, offset, timestamp: '0' };
    parts[record.partition]!.push(...feed.decode(at, topic, record.partition));
  }
  return parts;
}

function synthetic() {
  const outcomes = [];
  const changes = [];
  for (let sequence = 0; sequence < EVENTS; sequence++) {
    const m = encodeOutcome(syntheticOutcome(sequence, { run: `apply-${RUN}`, accounts: 1_000 }));
    outcomes.push({ key: m.key, value: m.value, partition: sequence % PARTITIONS });
    const change = syntheticChange(sequence, { accounts: 1_000 });
    const [debit, credit] = changeRecords(change, encodeChange(change));
    // As the relay's keys place them: each debit account on one partition, the house on one.
    const value = debit.value as Buffer;
    changes.push({ key: String(debit.key), value, partition: sequence % PARTITIONS });
    changes.push({ key: String(credit.key), value, partition: 0 });
  }
  return {
    outcomes: feedRecords<ProjectedEvent>(outcomeFeed, 'bench.apply.outcomes', outcomes),
    changes: feedRecords<ProjectedChange>(changeFeed, 'bench.apply.changes', changes),
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const schema = `bench_apply_${RUN}`;
  const admin = createDirectPool({ url: config.DATABASE_DIRECT_URL, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const pool = createDirectPool({ url: config.DATABASE_DIRECT_URL, max: 1, searchPath: [schema] });
  const costs = new Map<string, Cost>();
  try {
    await migrateUp(pool);
    await pool.query(
      `INSERT INTO account (account_id, ledger_id, name, holder_id, account_type, asset, flags)
       SELECT 'acc-' || i, 10000 + i, 'bench ' || i, 'holder-' || (i % 100), 'liability', 'USD', 0
         FROM generate_series(0, 999) AS i
       UNION ALL SELECT 'acc-house', 1, 'house', 'house', 'house', 'USD', 0`,
    );
    const feeds = synthetic();
    const client = await pool.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const backend = rows[0]!.pid;
    const pgMs = () => pidsMs([backend]).get(backend)!;
    const measure = async (name: string, run: () => Promise<unknown>) => {
      const [js0, pg0, wall0] = [process.cpuUsage(), pgMs(), performance.now()];
      await run();
      const js = process.cpuUsage(js0);
      const cost = costs.get(name) ?? { js: 0, pg: 0, wall: 0 };
      cost.js += (js.user + js.system) / 1000;
      cost.pg += pgMs() - pg0;
      cost.wall += performance.now() - wall0;
      costs.set(name, cost);
    };
    const applyAll = async <E extends Located>(parts: E[][], projections: Projection<E>[]) => {
      for (const events of parts) {
        for (let at = 0; at < events.length; at += BATCH) {
          const chunk = events.slice(at, at + BATCH);
          await client.query('BEGIN');
          for (const p of projections) await measure(p.name, () => p.apply(client, chunk));
          await measure('(commit)', () => client.query('COMMIT'));
        }
      }
    };
    await applyAll(feeds.outcomes, OUTCOME_PROJECTIONS);
    await applyAll(feeds.changes, CHANGE_PROJECTIONS);
    client.release();
    print(costs);
  } finally {
    await pool.end();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}

function print(costs: Map<string, Cost>): void {
  const us = (ms: number) => ((ms * 1000) / EVENTS).toFixed(1).padStart(7);
  console.log(
    `${EVENTS} ledger events (an outcome + 2 change records each), batches of ${BATCH}, ` +
      `${PARTITIONS} partitions; CPU µs per ledger event (10 ms /proc ticks on the PostgreSQL side)`,
  );
  console.log(`${'projection'.padEnd(18)}     js     pg   wall`);
  const total: Cost = { js: 0, pg: 0, wall: 0 };
  for (const [name, cost] of costs) {
    console.log(`${name.padEnd(18)}${us(cost.js)}${us(cost.pg)}${us(cost.wall)}`);
    total.js += cost.js;
    total.pg += cost.pg;
    total.wall += cost.wall;
  }
  console.log(`${'total'.padEnd(18)}${us(total.js)}${us(total.pg)}${us(total.wall)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
