/**
 * Proves `rebuildProjection(name, { from: 'events' })` against real PostgreSQL (a schema of this
 * file's own, migrated with 0001, 0003 and 0004): a seeded history spread over three partitions
 * is written to the event store by the hash-chain projection and built incrementally into every
 * read model; rebuilding each model from `ledger_event` (chains in position order) gives the same
 * tableDigest for every table; the event store itself cannot be rebuilt from itself.
 */
import fc from 'fast-check';
import type pg from 'pg';
import { hashChainProjection } from '../../../projections/src/hash-chain/projection';
import type { ProjectedEvent } from '../../../projections/src/projection';
import { READ_MODELS } from '../../../projections/src/read-models';
import { rebuildProjection, RebuildError } from '../../../projections/src/rebuild/rebuild';
import {
  applyAll,
  applyInBatches,
  createModelSchema,
  digests,
  historyArbitrary,
  type ModelSchema,
  projected,
} from '../../support/projections/read-models-fixtures';

let schema: ModelSchema;
let db: pg.Pool;

beforeAll(async () => {
  schema = await createModelSchema('rebuild_events', /^000[134]_/);
  db = schema.pool;
  const history = fc
    .sample(historyArbitrary, { seed: 99, numRuns: 8 })
    .reduce((a, b) => (b.length > a.length ? b : a));
  // Three partitions by journal, each with its own consecutive offsets.
  const partitions: ProjectedEvent[][] = [[], [], []];
  for (const event of projected(history)) {
    const partition = Number(event.event.journalId.slice(1)) % 3;
    const list = partitions[partition]!;
    list.push({ ...event, topic: 'rebuild.events', partition, offset: String(list.length) });
  }
  for (const list of partitions) {
    await applyAll(db, hashChainProjection, list);
    for (const model of READ_MODELS) await applyInBatches(db, model, list, [2, 5]);
  }
}, 60_000);

afterAll(() => schema?.drop());

describe.each(READ_MODELS.map((model) => [model.name, model] as const))('%s', (name, model) => {
  it('rebuilt from the event store equals the incremental build', async () => {
    const before = await digests(db, model);
    expect(before.some((line) => !line.includes(':0:'))).toBe(true);
    const report = await rebuildProjection(name, { from: 'events', db, batchEventsMax: 4 });
    expect(report.undecodable).toBe(0);
    expect(report.events).toBeGreaterThan(0);
    expect(await digests(db, model)).toEqual(before);
  });
});

it('refuses to rebuild the event store from itself', async () => {
  await expect(
    rebuildProjection('hash-chain', {
      from: 'events',
      db,
      projections: [hashChainProjection],
    }),
  ).rejects.toThrow(RebuildError);
});
