/**
 * One projection worker of the projection benchmark (./projections.ts forks one per worker): the
 * real `startWorker` (both feeds, every projection, the settings of the environment the parent
 * sets: topics, group, schema), each projection wrapped to time its `apply`. It tells the parent
 * every commit (`commit`), and on `stop` stops the worker and answers with its apply times
 * (`done`). The parent reads every process's CPU time from /proc.
 *
 * It loads, says `loaded`, and starts the worker on the parent's `go` (sent once every worker has
 * loaded, so they join the consumer groups together rather than one taking every partition).
 *
 * `BENCH_PROJECTIONS=none` runs the feeds with no projection at all: the floor (Kafka, decoding,
 * one transaction per batch with its checkpoint) that every projection adds to.
 */
import pino from 'pino';
import { loadConfig } from '../../core/config';
import type { Queryable } from '../../core/postgres/pool';
import { CHANGE_PROJECTIONS, OUTCOME_PROJECTIONS } from '../../projections/src/all';
import { loadProjectionsConfig } from '../../projections/src/config';
import type { Located, Projection } from '../../projections/src/projection';
import { startWorker } from '../../projections/src/worker';

export interface ApplyTime {
  name: string;
  feed: 'outcomes' | 'changes';
  calls: number;
  ms: number;
}

export type WorkerMessage =
  | { type: 'loaded' }
  | { type: 'ready' }
  | {
      type: 'commit';
      feed: 'outcomes' | 'changes';
      events: number;
      atMs: number;
      lagsMs?: number[];
    }
  | { type: 'done'; applies: ApplyTime[] };

const times = new Map<string, ApplyTime>();

function timed<E extends Located>(
  projection: Projection<E>,
  feed: 'outcomes' | 'changes',
): Projection<E> {
  const time: ApplyTime = { name: projection.name, feed, calls: 0, ms: 0 };
  times.set(projection.name, time);
  return {
    name: projection.name,
    tables: projection.tables,
    async apply(tx: Queryable, events: readonly E[]) {
      const start = performance.now();
      try {
        await projection.apply(statementsTimed ? timedQueries(tx, projection.name) : tx, events);
      } finally {
        time.calls += 1;
        time.ms += performance.now() - start;
      }
    },
  };
}

const statementsTimed = process.env.BENCH_STATEMENTS === '1';

/** `tx` whose every statement's wall time is added to `times` under `<projection>: <sql…>`. */
function timedQueries(tx: Queryable, name: string): Queryable {
  const query = (async (text: string, values?: unknown[]) => {
    const start = performance.now();
    try {
      return await tx.query(text, values);
    } finally {
      const key = `${name}: ${text.replace(/\s+/g, ' ').slice(0, 70)}`;
      const time = times.get(key) ?? { name: key, feed: 'outcomes', calls: 0, ms: 0 };
      time.calls += 1;
      time.ms += performance.now() - start;
      times.set(key, time);
    }
  }) as Queryable['query'];
  return { query };
}

function send(message: WorkerMessage): void {
  process.send!(message);
}

/** Resolves on the parent's `go`: every worker starts its consumers at the same moment. */
function go(): Promise<void> {
  return new Promise((resolve) => {
    const on = (message: { type: string }) => {
      if (message.type !== 'go') return;
      process.off('message', on);
      resolve();
    };
    process.on('message', on);
  });
}

async function main(): Promise<void> {
  const none = process.env.BENCH_PROJECTIONS === 'none';
  const started = go();
  send({ type: 'loaded' });
  await started;
  const withLags = process.env.BENCH_LAGS === '1';
  const worker = await startWorker({
    config: loadConfig(),
    projectionsConfig: loadProjectionsConfig(),
    logger: pino({ level: 'warn' }),
    projections: none ? [] : OUTCOME_PROJECTIONS.map((p) => timed(p, 'outcomes')),
    changeProjections: none ? [] : CHANGE_PROJECTIONS.map((p) => timed(p, 'changes')),
    onCommit: (feed, report) => {
      const lagsMs = withLags
        ? report.recordTimestampsMs.map((at) => report.committedAtMs - at)
        : undefined;
      send({ type: 'commit', feed, events: report.events, atMs: report.committedAtMs, lagsMs });
    },
  });
  send({ type: 'ready' });
  process.on('message', (message: { type: string }) => {
    if (message.type !== 'stop') return;
    void (async () => {
      await worker.stop();
      // Exits once the message is out (a CPU profile, --cpu-prof, is written on exit).
      process.send!({ type: 'done', applies: [...times.values()] }, () => process.exit(0));
    })();
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
