/**
 * For the dead-letter tests: a schema with the migrations the runner and the journal store need
 * (0001, 0002 and 0008), poison records of every kind, and test projections that fail on purpose
 * (data errors, a connection error twice) and their "fixed" versions for replay-dlq.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrateUp } from '../../../core/postgres/migrate';
import { MIGRATIONS_DIR } from '../../../core/postgres/migration-files';
import type { Queryable } from '../../../core/postgres/pool';
import type { JournalOutcome } from '../../../events/journal-model';
import { encodeOutcome } from '../../../events/schema';
import { type Feed, outcomeFeed } from '../../../projections/src/feed';
import { JournalStoreProjection } from '../../../projections/src/journal/projection';
import type { ProjectedEvent, Projection } from '../../../projections/src/projection';
import { createTestSchema, type TestSchema } from '../store/schema';

/** A copy of migrations 0001, 0002 and 0008 only (later work of others cannot break these). */
export function deadLetterMigrationsDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lb-dead-letter-migrations-'));
  for (const file of fs.readdirSync(MIGRATIONS_DIR)) {
    if (/^000[128]_.*\.sql$/.test(file)) {
      fs.copyFileSync(path.join(MIGRATIONS_DIR, file), path.join(dir, file));
    }
  }
  return dir;
}

/** A schema of its own, migrated with `deadLetterMigrationsDir`, and the test rules' tables. */
export async function deadLetterSchema(prefix: string): Promise<TestSchema> {
  const dir = deadLetterMigrationsDir();
  const schema = await createTestSchema(prefix);
  await migrateUp(schema.pool, { dir });
  fs.rmSync(dir, { recursive: true, force: true });
  await schema.pool.query(`
    CREATE TABLE rules_known_account (account_id text PRIMARY KEY);
    CREATE TABLE rules_seen_hold (transfer_id text PRIMARY KEY);
    CREATE TABLE rules_applied (event_id text PRIMARY KEY);
    INSERT INTO rules_known_account VALUES ('acc-cash'), ('acc-revenue');`);
  return schema;
}

/** A Kafka record to send to one partition. */
export interface PartitionRecord {
  partition: number;
  key: string;
  value: Buffer | null;
  headers?: Record<string, string>;
}

export function recordOf(partition: number, outcome: JournalOutcome): PartitionRecord {
  const { key, value, headers } = encodeOutcome(outcome);
  return { partition, key, value, headers: { ...headers } };
}

/** A valid outcome event whose schema version this code does not read (2). */
/** A record of a version this build cannot read (the batch envelope is 2: this is 3). */
export function futureVersion(partition: number, outcome: JournalOutcome): PartitionRecord {
  const record = recordOf(partition, outcome);
  const json = JSON.parse(record.value!.toString('utf8')) as { version: number };
  json.version = 3;
  return { ...record, value: Buffer.from(JSON.stringify(json), 'utf8') };
}

/**
 * The ledger's rules as a strict projection would hold them: every line's account is known, and
 * a hold's post or void follows its hold. A plain Error otherwise (a data failure). `lenient`:
 * the fixed version, which takes a post whose hold it never saw.
 */
export class LedgerRules implements Projection {
  readonly name = 'rules';
  readonly tables = ['rules_applied', 'rules_seen_hold'];
  constructor(private readonly lenient = false) {}

  async apply(tx: Queryable, events: readonly ProjectedEvent[]): Promise<void> {
    for (const { event } of events) {
      for (const line of event.journal?.lines ?? []) {
        const { rowCount } = await tx.query(
          'SELECT 1 FROM rules_known_account WHERE account_id = $1',
          [line.accountId],
        );
        if (rowCount === 0) throw new Error(`unknown account ${line.accountId}`);
      }
      for (const transfer of event.transfers) {
        if (event.kind === 'held') {
          await tx.query('INSERT INTO rules_seen_hold VALUES ($1) ON CONFLICT DO NOTHING', [
            transfer.id,
          ]);
        } else if (event.kind === 'hold_posted' || event.kind === 'hold_voided') {
          const { rowCount } = await tx.query(
            'SELECT 1 FROM rules_seen_hold WHERE transfer_id = $1',
            [transfer.pendingId],
          );
          if (rowCount === 0 && !this.lenient) {
            throw new Error(`hold ${transfer.pendingId} was never seen`);
          }
        }
      }
      await tx.query('INSERT INTO rules_applied VALUES ($1) ON CONFLICT DO NOTHING', [
        event.eventId,
      ]);
    }
  }
}

/**
 * Fails with a lost connection (transient) `times` times on any batch holding one of `journals`,
 * after the batch's writes: the runner must pause the partition, back off and retry it.
 */
export class FlakyConnection implements Projection {
  readonly name = 'flaky';
  readonly tables = [];
  readonly thrown = new Map<string, number>();
  constructor(
    private readonly journals: ReadonlySet<string>,
    private readonly times: number,
  ) {}

  async apply(_tx: Queryable, events: readonly ProjectedEvent[]): Promise<void> {
    for (const { event } of events) {
      if (!this.journals.has(event.journalId)) continue;
      const count = this.thrown.get(event.journalId) ?? 0;
      if (count >= this.times) continue;
      this.thrown.set(event.journalId, count + 1);
      throw Object.assign(new Error('Connection terminated unexpectedly (injected)'), {
        code: 'ECONNRESET',
      });
    }
  }
}

/** The journal store "fixed": text PostgreSQL cannot hold (U+0000) is stored as U+FFFD. */
export class SanitizingJournalStore implements Projection {
  readonly name = 'journal';
  readonly tables: readonly string[];
  private readonly inner = new JournalStoreProjection();
  constructor() {
    this.tables = this.inner.tables;
  }

  async apply(tx: Queryable, events: readonly ProjectedEvent[]): Promise<void> {
    const clean = (text: string) => text.replaceAll('\u0000', '\uFFFD');
    await this.inner.apply(
      tx,
      events.map((e) => {
        const journal = e.event.journal;
        if (journal === null) return e;
        return {
          ...e,
          event: { ...e.event, journal: { ...journal, description: clean(journal.description) } },
        };
      }),
    );
  }
}

/** The outcome feed "fixed": it also reads version 3 (as version 1). */
export const futureVersionFeed: Feed<ProjectedEvent> = {
  ...outcomeFeed,
  decode(record, topic, partition) {
    const json = JSON.parse(record.value!.toString('utf8')) as { version: number };
    if (json.version === 3) json.version = 1;
    const value = Buffer.from(JSON.stringify(json), 'utf8');
    return outcomeFeed.decode({ ...record, value }, topic, partition);
  },
};

/** Nearest-rank percentile of `values` (ms), for the printed lag numbers. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
