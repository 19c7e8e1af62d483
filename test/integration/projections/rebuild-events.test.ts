/**
 * Proves `rebuildProjection(name, { from: 'events' })` against real PostgreSQL (a schema of this
 * file's own, migrated with 0001 and 0003–0007), for both feeds. A seeded outcome history over
 * three partitions is chained by the hash-chain projection and built into the holder dashboard; a
 * seeded change history (holds posted, voided, expired, closing flags, day boundaries), each event
 * twice keyed by its accounts over three partitions, is chained by the change chain (one entry
 * per event, from its debit side) and built into the change store, balances, statements and daily
 * summaries, in batches. Both chains verify from genesis, the change events with no journal.
 * Rebuilding each model from `ledger_event` (only its own topic's chains, change payloads
 * expanded to both sides) gives the same tableDigest for every table; neither chain can be
 * rebuilt from itself.
 */
import fc from 'fast-check';
import type pg from 'pg';
import { changeFeed, type ProjectedChange } from '../../../projections/src/changes/feed';
import { CHANGE_PROJECTIONS } from '../../../projections/src/all';
import {
  changeChainProjection,
  hashChainProjection,
} from '../../../projections/src/hash-chain/projection';
import { verifyChains } from '../../../projections/src/hash-chain/verify';
import type { ProjectedEvent } from '../../../projections/src/projection';
import { OUTCOME_READ_MODELS } from '../../../projections/src/read-models';
import { rebuildProjection, RebuildError } from '../../../projections/src/rebuild/rebuild';
import {
  byPartition,
  changeHistoryArbitrary,
  changeRecords,
} from '../../support/projections/change-fixtures';
import {
  applyAll,
  applyInBatches,
  createModelSchema,
  digests,
  historyArbitrary,
  type ModelSchema,
  projected,
} from '../../support/projections/read-models-fixtures';

const OUTCOMES_TOPIC = 'rebuild.outcomes';
const CHANGES_TOPIC = 'rebuild.changes';
/** Every change projection but the chain, which is the event store itself. */
const CHANGE_MODELS = CHANGE_PROJECTIONS.filter((p) => p !== changeChainProjection);

let schema: ModelSchema;
let db: pg.Pool;
let changeEvents = 0;

async function buildOutcomes(): Promise<void> {
  const history = fc
    .sample(historyArbitrary, { seed: 99, numRuns: 8 })
    .reduce((a, b) => (b.length > a.length ? b : a));
  // Three partitions by journal, each with its own consecutive offsets.
  const partitions: ProjectedEvent[][] = [[], [], []];
  for (const event of projected(history)) {
    const partition = Number(event.event.journalId.slice(1)) % 3;
    const list = partitions[partition]!;
    list.push({ ...event, topic: OUTCOMES_TOPIC, partition, offset: String(list.length) });
  }
  for (const list of partitions) {
    await applyAll(db, hashChainProjection, list);
    for (const model of OUTCOME_READ_MODELS) await applyInBatches(db, model, list, [2, 5]);
  }
}

async function buildChanges(): Promise<void> {
  const { changes } = fc
    .sample(changeHistoryArbitrary, { seed: 99, numRuns: 8 })
    .reduce((a, b) => (b.changes.length > a.changes.length ? b : a));
  changeEvents = changes.length;
  const partitions = byPartition(changeRecords(changes, { topic: CHANGES_TOPIC, partitions: 3 }));
  for (const list of partitions) {
    await applyInBatches(db, changeChainProjection, list, [4, 7]);
    for (const model of CHANGE_MODELS) await applyInBatches(db, model, list, [2, 5]);
  }
}

beforeAll(async () => {
  schema = await createModelSchema('rebuild_events', /^000[134567]_/);
  db = schema.pool;
  await buildOutcomes();
  await buildChanges();
}, 60_000);

afterAll(() => schema?.drop());

it('verifies both chains, one change-chain entry per ledger event, without a journal', async () => {
  const report = await verifyChains(db, { full: true });
  expect(report.chains.filter((c) => !c.ok)).toEqual([]);
  const { rows } = await db.query<{ chains: number; events: number; journals: number }>(
    `SELECT count(DISTINCT chain)::int AS chains, count(*)::int AS events,
            count(journal_id)::int AS journals
       FROM ledger_event WHERE chain LIKE $1`,
    [`${CHANGES_TOPIC}/%`],
  );
  expect(rows[0]).toEqual({ chains: 3, events: changeEvents, journals: 0 });
});

describe.each(OUTCOME_READ_MODELS.map((m) => [m.name, m] as const))('%s (outcomes)', (name, m) => {
  it('rebuilt from the event store equals the incremental build', async () => {
    const before = await digests(db, m);
    expect(before.some((line) => !line.includes(':0:'))).toBe(true);
    const report = await rebuildProjection(name, {
      from: 'events',
      db,
      topic: OUTCOMES_TOPIC,
      batchEventsMax: 4,
    });
    expect(report.undecodable).toBe(0);
    expect(report.events).toBeGreaterThan(0);
    expect(await digests(db, m)).toEqual(before);
  });
});

describe.each(CHANGE_MODELS.map((m) => [m.name, m] as const))('%s (changes)', (name, m) => {
  it('rebuilt from the event store equals the incremental build', async () => {
    const before = await digests(db, m);
    expect(before.some((line) => !line.includes(':0:'))).toBe(true);
    const report = await rebuildProjection<ProjectedChange>(name, {
      from: 'events',
      db,
      feed: changeFeed,
      topic: CHANGES_TOPIC,
      projections: CHANGE_PROJECTIONS,
      batchEventsMax: 4,
    });
    expect(report.undecodable).toBe(0);
    // Both sides of every chained event.
    expect(report.events).toBe(2 * changeEvents);
    expect(await digests(db, m)).toEqual(before);
  });
});

it('refuses to rebuild either hash chain, from itself or from Kafka', async () => {
  await expect(
    rebuildProjection('hash-chain', { from: 'kafka', db, projections: [hashChainProjection] }),
  ).rejects.toThrow(/verified, never rebuilt/);
  await expect(
    rebuildProjection('hash-chain', { from: 'events', db, projections: [hashChainProjection] }),
  ).rejects.toThrow(RebuildError);
  await expect(
    rebuildProjection<ProjectedChange>('change-chain', {
      from: 'events',
      db,
      feed: changeFeed,
      topic: CHANGES_TOPIC,
      projections: CHANGE_PROJECTIONS,
    }),
  ).rejects.toThrow(RebuildError);
});
