/**
 * Shared by the read-model, rebuild and statement tests: a schema of the test file's own migrated
 * with the control plane (0001), the read models (0004, and 0006 that moves balances, statements
 * and daily summaries onto the change feed) and the change store (0005) only — not the other
 * projections' migrations, which other tests own — a few accounts, and builders of consistent
 * journal outcomes (each transfer's lines name its accounts) turned into projected events, for
 * the read model that still follows the outcome feed (the holder dashboard). The change feed's
 * builders are in ./change-fixtures.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type pg from 'pg';
import { toOutcomeEvent } from '../../../events/schema';
import type { JournalLine, JournalOutcome } from '../../../events/journal-model';
import { CreateTransferStatus, TransferFlags } from '../../../ledger/port';
import { migrateUp } from '../../../core/postgres/migrate';
import { MIGRATIONS_DIR } from '../../../core/postgres/migration-files';
import { withTransaction } from '../../../core/postgres/pool';
import type { Located, ProjectedEvent, Projection } from '../../../projections/src/projection';
import { tableDigest } from '../../../projections/src/rebuild/digest';
import { createTestSchema, type TestSchema } from '../store/schema';

const OUR_MIGRATIONS = /^000[1456]_/;

/** A copy of the migrations this suite needs (0001 control plane, 0004–0006 read models). */
export function readModelMigrationsDir(pattern: RegExp = OUR_MIGRATIONS): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'read-models-migrations-'));
  for (const file of fs.readdirSync(MIGRATIONS_DIR)) {
    if (pattern.test(file)) fs.copyFileSync(path.join(MIGRATIONS_DIR, file), path.join(dir, file));
  }
  return dir;
}

export interface Account {
  id: string;
  ledgerId: bigint;
  holder: string;
  type: string;
  asset: string;
  ledger: number;
}

export const ACCOUNTS = {
  cash: { id: 'cash.usd', ledgerId: 101n, holder: 'house', type: 'asset', asset: 'USD', ledger: 1 },
  alice: {
    id: 'wallet:alice.usd',
    ledgerId: 102n,
    holder: 'alice',
    type: 'liability',
    asset: 'USD',
    ledger: 1,
  },
  bob: {
    id: 'wallet:bob.usd',
    ledgerId: 103n,
    holder: 'bob',
    type: 'liability',
    asset: 'USD',
    ledger: 1,
  },
  fees: { id: 'fees.usd', ledgerId: 104n, holder: 'house', type: 'fee', asset: 'USD', ledger: 1 },
  eurCash: {
    id: 'cash.eur',
    ledgerId: 201n,
    holder: 'house',
    type: 'asset',
    asset: 'EUR',
    ledger: 2,
  },
  aliceEur: {
    id: 'wallet:alice.eur',
    ledgerId: 202n,
    holder: 'alice',
    type: 'liability',
    asset: 'EUR',
    ledger: 2,
  },
} satisfies Record<string, Account>;
export const ACCOUNT_LIST: Account[] = Object.values(ACCOUNTS);

export interface ModelSchema extends TestSchema {
  migrationsDir: string;
  /** Drops and recreates the schema, migrated and with the accounts. */
  fresh(): Promise<void>;
}

async function seedAccounts(db: pg.Pool): Promise<void> {
  for (const a of ACCOUNT_LIST) {
    await db.query(
      `INSERT INTO account (account_id, ledger_id, name, holder_id, account_type, asset, flags)
       VALUES ($1, $2, $3, $4, $5, $6, 0)`,
      [a.id, a.ledgerId.toString(), a.id, a.holder, a.type, a.asset],
    );
  }
}

/** `migrations`: which files to apply (default 0001, 0004, 0005 and 0006). */
export async function createModelSchema(
  prefix: string,
  migrations: RegExp = OUR_MIGRATIONS,
): Promise<ModelSchema> {
  const schema = await createTestSchema(prefix);
  const migrationsDir = readModelMigrationsDir(migrations);
  const fresh = async () => {
    await schema.reset();
    await migrateUp(schema.pool, { dir: migrationsDir });
    await seedAccounts(schema.pool);
  };
  await migrateUp(schema.pool, { dir: migrationsDir });
  await seedAccounts(schema.pool);
  return {
    ...schema,
    migrationsDir,
    fresh,
    async drop() {
      fs.rmSync(migrationsDir, { recursive: true, force: true });
      await schema.drop();
    },
  };
}

const BASE_TS = 1_763_700_000_000_000_000n;
const PHASE = { create: 0n, post: 1n, void: 2n } as const;

/** A transfer id unique per (journal number, phase, index). */
export function transferIdOf(journal: number, phase: keyof typeof PHASE, index: number): bigint {
  return (1n << 100n) + BigInt(journal) * 1024n + PHASE[phase] * 256n + BigInt(index);
}

export interface Leg {
  debit: Account;
  credit: Account;
  amount: bigint;
}

/**
 * A journal (number `n`, id `j<n>`) of one transfer per leg, each pairing a debit line with a
 * credit line; TigerBeetle timestamps `ts`, `ts + 1`, … (ns offsets from a fixed base).
 */
export function journalOutcome(
  n: number,
  ts: number,
  legs: Leg[],
  kind: 'posted' | 'held' | 'rejected' = 'posted',
  description = `journal ${n}`,
): JournalOutcome {
  const journalId = `j${n}`;
  const lines: JournalLine[] = legs.flatMap((leg, i) => [
    {
      lineNumber: 2 * i + 1,
      accountId: leg.debit.id,
      lineType: 'DEBIT' as const,
      amount: leg.amount,
    },
    {
      lineNumber: 2 * i + 2,
      accountId: leg.credit.id,
      lineType: 'CREDIT' as const,
      amount: leg.amount,
    },
  ]);
  const flags = kind === 'held' ? TransferFlags.pending : 0;
  return {
    kind,
    journalId,
    journal: {
      journalId,
      date: '2025-11-21',
      description,
      source: 'test/projections',
      pending: kind === 'held' ? { timeoutSeconds: 3600 } : null,
      lines,
    },
    transfers: legs.map((leg, i) => ({
      transfer: {
        id: transferIdOf(n, 'create', i),
        debit_account_id: leg.debit.ledgerId,
        credit_account_id: leg.credit.ledgerId,
        amount: leg.amount,
        pending_id: 0n,
        user_data_128: 0n,
        user_data_64: 0n,
        user_data_32: legs.length,
        timeout: kind === 'held' ? 3600 : 0,
        ledger: leg.debit.ledger,
        code: 1,
        flags: i < legs.length - 1 ? flags | TransferFlags.linked : flags,
        timestamp: 0n,
      },
      debitLine: 2 * i + 1,
      creditLine: 2 * i + 2,
      status:
        kind === 'rejected'
          ? i === 0
            ? CreateTransferStatus.exceeds_credits
            : CreateTransferStatus.linked_event_failed
          : CreateTransferStatus.created,
      timestamp: kind === 'rejected' ? 0n : BASE_TS + BigInt(ts + i),
    })),
  };
}

/** A hold's post (all, or `amount` of a one-transfer hold) or void, as the bridge publishes it. */
export function resolveOutcome(
  n: number,
  ts: number,
  held: JournalOutcome,
  action: 'post' | 'void',
  amount?: bigint,
): JournalOutcome {
  const flag =
    action === 'post' ? TransferFlags.post_pending_transfer : TransferFlags.void_pending_transfer;
  const count = held.transfers.length;
  return {
    kind: action === 'post' ? 'hold_posted' : 'hold_voided',
    journalId: held.journalId,
    journal: null,
    transfers: held.transfers.map((t, i) => ({
      transfer: {
        ...t.transfer,
        id: transferIdOf(n, action, i),
        amount: amount ?? t.transfer.amount,
        pending_id: t.transfer.id,
        timeout: 0,
        flags: i < count - 1 ? flag | TransferFlags.linked : flag,
      },
      debitLine: null,
      creditLine: null,
      status: CreateTransferStatus.created,
      timestamp: BASE_TS + BigInt(ts + i),
    })),
  };
}

/** Projected events of `outcomes`, one partition, consecutive offsets from `offset`. */
export function projected(outcomes: JournalOutcome[], partition = 0, offset = 0): ProjectedEvent[] {
  return outcomes.map((outcome, i) => ({
    event: toOutcomeEvent(outcome),
    topic: 'test',
    partition,
    offset: String(offset + i),
    timestamp: '0',
  }));
}

export async function applyAll<E extends Located>(
  db: pg.Pool,
  projection: Projection<E>,
  events: readonly E[],
): Promise<void> {
  await withTransaction(db, (tx) => projection.apply(tx, events));
}

/** Applies `events` in consecutive batches of the given sizes (cycled). */
export async function applyInBatches<E extends Located>(
  db: pg.Pool,
  projection: Projection<E>,
  events: readonly E[],
  sizes: number[],
): Promise<void> {
  let at = 0;
  for (let i = 0; at < events.length; i++) {
    const size = Math.max(1, sizes[i % sizes.length]!);
    await applyAll(db, projection, events.slice(at, at + size));
    at += size;
  }
}

export async function digests(
  db: pg.Pool,
  projection: { tables: readonly string[] },
): Promise<string[]> {
  const out: string[] = [];
  for (const table of projection.tables) {
    const { rows, md5 } = await tableDigest(db, table);
    out.push(`${table}:${rows}:${md5}`);
  }
  return out;
}

/**
 * A random but consistent history over ACCOUNTS: posted journals of 1–3 legs within one ledger,
 * holds later posted (in full, or in part for one-leg holds), voided or left open, rejections,
 * and duplicates (a retry republishing an earlier event). Timestamps strictly increase.
 */
export const historyArbitrary: fc.Arbitrary<JournalOutcome[]> = fc
  .array(
    fc.record({
      kind: fc.constantFrom('posted', 'posted', 'held', 'rejected'),
      ledger: fc.constantFrom(1, 2),
      legs: fc.array(
        fc.record({ from: fc.nat(), to: fc.nat(), amount: fc.bigInt({ min: 1n, max: 1n << 80n }) }),
        { minLength: 1, maxLength: 3 },
      ),
      then: fc.constantFrom('post', 'partial', 'void', 'open'),
      duplicate: fc.boolean(),
    }),
    { minLength: 1, maxLength: 25 },
  )
  .map((steps) => {
    const out: JournalOutcome[] = [];
    let ts = 0;
    steps.forEach((step, n) => {
      const pool = ACCOUNT_LIST.filter((a) => a.ledger === step.ledger);
      const legs = step.legs.map((leg) => {
        const debit = pool[leg.from % pool.length]!;
        const others = pool.filter((a) => a !== debit);
        return { debit, credit: others[leg.to % others.length]!, amount: leg.amount };
      });
      const kind = step.kind as 'posted' | 'held' | 'rejected';
      const outcome = journalOutcome(n, ts, legs, kind);
      ts += 10;
      out.push(outcome);
      if (kind === 'held' && step.then !== 'open') {
        const partial = step.then === 'partial' && legs.length === 1;
        const amount = partial ? legs[0]!.amount / 2n + 1n : undefined;
        const action = step.then === 'void' ? 'void' : 'post';
        out.push(resolveOutcome(n, ts, outcome, action, amount));
        ts += 10;
      }
      if (step.duplicate) out.push(out[Math.floor(out.length / 2)]!);
    });
    return out;
  });
