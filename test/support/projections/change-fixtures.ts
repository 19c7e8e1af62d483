/**
 * The ledger's change feed for tests, without a ledger: `LedgerSimulator` keeps accounts' four
 * totals and flags the way TigerBeetle's state machine moves them (single-phase, pending, post in
 * full or in part, void, expiry, closing flags) and returns, for each transfer or expiry, the
 * `LedgerChange` TigerBeetle's CDC job would publish: the transfer and BOTH accounts AS OF the
 * event. `changeRecords` turns events into what the change runner reads (each event twice, keyed
 * by each account, on that account's partition, consecutive offsets per partition), and
 * `changeMessages` into what the relay writes to Kafka. read-models.test.ts holds the simulator to
 * the events TigerBeetle itself published (test/fixtures/cdc/).
 *
 * Everything here is a pure function of its input: no clock, no randomness but fast-check's.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import {
  CHANGE_HEADERS,
  CHANGE_SCHEMA,
  CHANGE_CONTENT_TYPE,
  type ChangeAccount,
  type ChangeType,
  changeKeys,
  decodeChange,
  encodeChange,
  type LedgerChange,
} from '../../../events/change';
import type { JournalOutcome } from '../../../events/journal-model';
import {
  AccountFlags,
  CreateTransferStatus,
  type Transfer,
  TransferFlags,
} from '../../../ledger/port';
import type { ProjectedChange } from '../../../projections/src/changes/feed';
import { ACCOUNT_LIST, ACCOUNTS, type Account } from './read-models-fixtures';

/** 2025-11-21T04:26:40Z in TigerBeetle ns: the first event's timestamp unless told otherwise. */
export const CHANGES_BASE_NS = 1_763_700_000_000_000_000n;
export const NS_PER_DAY = 86_400_000_000_000n;
export const CHANGES_TOPIC = 'test.changes';

/** An account as the simulator opens it: the fixed fields TigerBeetle reports with each event. */
export interface SimAccount {
  id: bigint;
  ledger: number;
  code?: number;
  flags?: number;
  userData128?: bigint;
  userData64?: bigint;
  userData32?: number;
  timestamp?: bigint;
}

/** A transfer to commit; the flags say which kind (pending, post, void, or single-phase). */
export interface SimTransfer {
  id: bigint;
  /** For a post or void: ignored, the pending transfer's accounts are used (as TigerBeetle). */
  debitAccountId?: bigint;
  creditAccountId?: bigint;
  /** A post's amount (default: the whole pending amount); a void's is the pending amount. */
  amount?: bigint;
  pendingId?: bigint;
  flags?: number;
  timeout?: number;
  code?: number;
  /** Default: one ns after the previous event. */
  timestamp?: bigint;
}

interface Pending {
  transfer: LedgerChange['transfer'];
  debit: bigint;
  credit: bigint;
  ledger: number;
}

function typeOf(flags: number): ChangeType {
  if (flags & TransferFlags.pending) return 'two_phase_pending';
  if (flags & TransferFlags.post_pending_transfer) return 'two_phase_posted';
  if (flags & TransferFlags.void_pending_transfer) return 'two_phase_voided';
  return 'single_phase';
}

export class LedgerSimulator {
  private readonly accounts = new Map<bigint, { state: ChangeAccount; ledger: number }>();
  private readonly pendings = new Map<bigint, Pending>();
  readonly changes: LedgerChange[] = [];
  /** The last event's timestamp (the next defaults to one more). */
  lastNs: bigint;

  constructor(startNs: bigint = CHANGES_BASE_NS) {
    this.lastNs = startNs - 1n;
  }

  open(spec: SimAccount): void {
    if (this.accounts.has(spec.id)) throw new Error(`account ${spec.id} opened twice`);
    const state: ChangeAccount = {
      id: spec.id,
      debitsPending: 0n,
      debitsPosted: 0n,
      creditsPending: 0n,
      creditsPosted: 0n,
      userData128: spec.userData128 ?? 0n,
      userData64: spec.userData64 ?? 0n,
      userData32: spec.userData32 ?? 0,
      code: spec.code ?? 1,
      flags: spec.flags ?? 0,
      timestamp: spec.timestamp ?? 1_000n + BigInt(this.accounts.size),
    };
    this.accounts.set(spec.id, { state, ledger: spec.ledger });
  }

  /** The account's totals and flags now (a copy). */
  account(id: bigint): ChangeAccount {
    return { ...this.entry(id).state };
  }

  /** Every account's state now, by ascending id. */
  finalAccounts(): ChangeAccount[] {
    return [...this.accounts.keys()].sort((a, b) => (a < b ? -1 : 1)).map((id) => this.account(id));
  }

  isClosed(id: bigint): boolean {
    return (this.entry(id).state.flags & AccountFlags.closed) !== 0;
  }

  /** The pending transfers neither posted, voided nor expired, oldest first. */
  openPendings(): bigint[] {
    return [...this.pendings.keys()];
  }

  /** Commits a transfer; returns its event. Throws on what TigerBeetle would refuse here. */
  transfer(t: SimTransfer): LedgerChange {
    const flags = t.flags ?? 0;
    const type = typeOf(flags);
    if (type === 'two_phase_posted' || type === 'two_phase_voided') return this.resolve(t, type);
    const debit = this.entry(t.debitAccountId!);
    const credit = this.entry(t.creditAccountId!);
    if (debit.ledger !== credit.ledger) throw new Error(`transfer ${t.id} across ledgers`);
    if (this.isClosed(debit.state.id) || this.isClosed(credit.state.id)) {
      throw new Error(`transfer ${t.id} on a closed account`);
    }
    const amount = t.amount ?? 0n;
    const timestamp = this.tick(t.timestamp);
    const transfer = this.transferOf(t, amount, 0n, timestamp);
    if (type === 'two_phase_pending') {
      debit.state.debitsPending += amount;
      credit.state.creditsPending += amount;
      if (flags & TransferFlags.closing_debit) debit.state.flags |= AccountFlags.closed;
      if (flags & TransferFlags.closing_credit) credit.state.flags |= AccountFlags.closed;
      this.pendings.set(t.id, {
        transfer,
        debit: debit.state.id,
        credit: credit.state.id,
        ledger: debit.ledger,
      });
    } else {
      debit.state.debitsPosted += amount;
      credit.state.creditsPosted += amount;
    }
    return this.emit(type, timestamp, debit.ledger, transfer, debit.state.id, credit.state.id);
  }

  /** TigerBeetle expiring a pending transfer by timeout: the pending transfer, at a later time. */
  expire(pendingId: bigint, timestampNs?: bigint): LedgerChange {
    const pending = this.take(pendingId);
    const timestamp = this.tick(timestampNs);
    this.release(pending);
    return this.emit(
      'two_phase_expired',
      timestamp,
      pending.ledger,
      pending.transfer,
      pending.debit,
      pending.credit,
    );
  }

  private resolve(t: SimTransfer, type: 'two_phase_posted' | 'two_phase_voided'): LedgerChange {
    const pending = this.take(t.pendingId ?? 0n);
    const full = pending.transfer.amount;
    const amount = type === 'two_phase_voided' ? full : (t.amount ?? full);
    if (amount > full) throw new Error(`post of ${amount} exceeds pending ${full}`);
    const timestamp = this.tick(t.timestamp);
    this.release(pending);
    if (type === 'two_phase_posted') {
      this.entry(pending.debit).state.debitsPosted += amount;
      this.entry(pending.credit).state.creditsPosted += amount;
      // A closing transfer posted leaves its account closed.
      const closing = pending.transfer.flags;
      if (closing & TransferFlags.closing_debit) {
        this.entry(pending.debit).state.flags |= AccountFlags.closed;
      }
      if (closing & TransferFlags.closing_credit) {
        this.entry(pending.credit).state.flags |= AccountFlags.closed;
      }
    }
    const transfer = this.transferOf(
      { ...t, code: t.code ?? pending.transfer.code },
      amount,
      pending.transfer.id,
      timestamp,
    );
    return this.emit(type, timestamp, pending.ledger, transfer, pending.debit, pending.credit);
  }

  /** Releases a pending amount; a void or expiry of a closing transfer reopens its account. */
  private release(pending: Pending): void {
    const debit = this.entry(pending.debit).state;
    const credit = this.entry(pending.credit).state;
    debit.debitsPending -= pending.transfer.amount;
    credit.creditsPending -= pending.transfer.amount;
    if (pending.transfer.flags & TransferFlags.closing_debit) debit.flags &= ~AccountFlags.closed;
    if (pending.transfer.flags & TransferFlags.closing_credit) credit.flags &= ~AccountFlags.closed;
  }

  private take(pendingId: bigint): Pending {
    const pending = this.pendings.get(pendingId);
    if (pending === undefined) throw new Error(`no open pending transfer ${pendingId}`);
    this.pendings.delete(pendingId);
    return pending;
  }

  private transferOf(t: SimTransfer, amount: bigint, pendingId: bigint, timestamp: bigint) {
    return {
      id: t.id,
      amount,
      pendingId,
      userData128: 0n,
      userData64: 0n,
      userData32: 0,
      timeout: t.timeout ?? 0,
      code: t.code ?? 1,
      flags: t.flags ?? 0,
      timestamp,
    };
  }

  private tick(timestamp: bigint | undefined): bigint {
    const next = timestamp ?? this.lastNs + 1n;
    if (next <= this.lastNs) throw new Error(`timestamp ${next} does not follow ${this.lastNs}`);
    this.lastNs = next;
    return next;
  }

  private entry(id: bigint) {
    const entry = this.accounts.get(id);
    if (entry === undefined) throw new Error(`account ${id} not opened`);
    return entry;
  }

  private emit(
    type: ChangeType,
    timestamp: bigint,
    ledger: number,
    transfer: LedgerChange['transfer'],
    debit: bigint,
    credit: bigint,
  ): LedgerChange {
    const change: LedgerChange = {
      timestamp,
      type,
      ledger,
      transfer: { ...transfer },
      debitAccount: this.account(debit),
      creditAccount: this.account(credit),
    };
    this.changes.push(change);
    return change;
  }
}

/** A committed TigerBeetle transfer (as lookup_transfers returns it) as the simulator takes it. */
export function simTransferOf(t: Transfer): SimTransfer {
  return {
    id: t.id,
    debitAccountId: t.debit_account_id,
    creditAccountId: t.credit_account_id,
    amount: t.amount,
    pendingId: t.pending_id,
    flags: t.flags,
    timeout: t.timeout,
    code: t.code,
    timestamp: t.timestamp,
  };
}

/** The partition an account's records go to in these tests (the relay's is murmur2 of the key). */
export function partitionOfAccount(id: bigint, partitions: number): number {
  return Number(id % BigInt(partitions));
}

/**
 * The records the change runner reads for `changes`: each event's debit side, then its credit
 * side, each on its account's partition, with consecutive offsets per partition from 0.
 */
export function changeRecords(
  changes: readonly LedgerChange[],
  options: { topic?: string; partitions?: number } = {},
): ProjectedChange[] {
  const topic = options.topic ?? CHANGES_TOPIC;
  const partitions = options.partitions ?? 3;
  const next = new Map<number, number>();
  const records: ProjectedChange[] = [];
  for (const each of changes) {
    const payload = encodeChange(each);
    const change = decodeChange(payload);
    for (const side of ['debit', 'credit'] as const) {
      const account = side === 'debit' ? change.debitAccount : change.creditAccount;
      const partition = partitionOfAccount(account.id, partitions);
      const offset = next.get(partition) ?? 0;
      next.set(partition, offset + 1);
      records.push({
        change,
        side,
        payload,
        topic,
        partition,
        offset: String(offset),
        timestamp: '0',
      });
    }
  }
  return records;
}

/** Records grouped by partition, each list in offset order. */
export function byPartition(records: readonly ProjectedChange[]): ProjectedChange[][] {
  const lists = new Map<number, ProjectedChange[]>();
  for (const record of records) {
    const list = lists.get(record.partition) ?? [];
    list.push(record);
    lists.set(record.partition, list);
  }
  return [...lists.keys()].sort((a, b) => a - b).map((p) => lists.get(p)!);
}

/** What the relay writes to Kafka for `changes`: two records per event, keyed by each account. */
export function changeMessages(changes: readonly LedgerChange[]) {
  const headers = {
    [CHANGE_HEADERS.schema]: CHANGE_SCHEMA,
    [CHANGE_HEADERS.contentType]: CHANGE_CONTENT_TYPE,
  };
  return changes.flatMap((change) => {
    const value = encodeChange(change);
    const keys = changeKeys(change);
    return [
      { key: keys.debit, value, headers },
      { key: keys.credit, value, headers },
    ];
  });
}

/** The five messages `tigerbeetle amqp` 0.17.9 published (test/fixtures/cdc/README.md). */
export function capturedChanges(): { body: string; change: LedgerChange }[] {
  const file = path.join(__dirname, '../../fixtures/cdc/tigerbeetle-0.17.9.jsonl');
  return fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { body: string }).body)
    .map((body) => ({ body, change: decodeChange(body) }));
}

export interface SimulatedHistory {
  changes: LedgerChange[];
  /** Every account's state after the last event, from the simulator (not from the events). */
  accounts: ChangeAccount[];
}

/** A simulator with every account of ACCOUNTS (read-models-fixtures) opened. */
export function simulatorOf(accounts: readonly Account[] = ACCOUNT_LIST): LedgerSimulator {
  const sim = new LedgerSimulator();
  for (const a of accounts) sim.open({ id: a.ledgerId, ledger: a.ledger });
  return sim;
}

const CLOSING = [0, 0, 0, 0, 0, TransferFlags.closing_debit, TransferFlags.closing_credit];

/**
 * A random but consistent change history over ACCOUNTS: single-phase transfers and holds on
 * ledgers 1 and 2, holds later posted in full or in part, voided, expired or left open (their
 * resolutions interleaved with other transfers), closing holds that close an account until voided
 * or expired (transfers on a closed account are left out, as TigerBeetle refuses them), and now
 * and then a day boundary. Timestamps strictly increase; ids are unique.
 */
export const changeHistoryArbitrary: fc.Arbitrary<SimulatedHistory> = fc
  .array(
    fc.record({
      op: fc.constantFrom('single', 'single', 'pending', 'resolve', 'resolve'),
      ledger: fc.constantFrom(1, 2),
      from: fc.nat(),
      to: fc.nat(),
      amount: fc.bigInt({ min: 1n, max: 1n << 80n }),
      action: fc.constantFrom('post', 'partial', 'void', 'expire'),
      closing: fc.constantFrom(...CLOSING),
      nextDay: fc.constantFrom(false, false, false, false, true),
    }),
    { minLength: 1, maxLength: 30 },
  )
  .map((steps) => {
    const sim = simulatorOf();
    steps.forEach((step, n) => {
      const id = (1n << 100n) + BigInt(n);
      const timestamp = step.nextDay ? sim.lastNs + NS_PER_DAY : undefined;
      if (step.op === 'resolve') {
        const open = sim.openPendings();
        if (open.length === 0) return;
        const pendingId = open[step.from % open.length]!;
        if (step.action === 'expire') sim.expire(pendingId, timestamp);
        else {
          const flags =
            step.action === 'void'
              ? TransferFlags.void_pending_transfer
              : TransferFlags.post_pending_transfer;
          const amount = step.action === 'partial' ? 1n : undefined;
          sim.transfer({ id, pendingId, flags, amount, timestamp });
        }
        return;
      }
      const pool = ACCOUNT_LIST.filter((a) => a.ledger === step.ledger);
      const debit = pool[step.from % pool.length]!;
      const others = pool.filter((a) => a !== debit);
      const credit = others[step.to % others.length]!;
      if (sim.isClosed(debit.ledgerId) || sim.isClosed(credit.ledgerId)) return;
      const pending = step.op === 'pending';
      sim.transfer({
        id,
        debitAccountId: debit.ledgerId,
        creditAccountId: credit.ledgerId,
        amount: step.amount,
        flags: pending ? TransferFlags.pending | step.closing : 0,
        timeout: pending ? 60 : 0,
        timestamp,
      });
    });
    return { changes: [...sim.changes], accounts: sim.finalAccounts() };
  })
  .filter((history) => history.changes.length > 0);

/**
 * The change events of a journal outcome history (read-models-fixtures' builders): each created
 * transfer once (a republished outcome is the same transfers), in order, over ACCOUNTS; with
 * `rawAfter(n)`, a raw single-phase transfer of `n + 1` from cash to alice (no journal: the raw
 * transfer API) 3 ns after the last transfer so far. Journal timestamps are 10 ns apart, so
 * `rawAfter` must not hold for two entries of one history step (a journal, its resolution, a
 * republished one): n % 3 === 0 never does.
 */
export function changesOfOutcomes(
  outcomes: readonly JournalOutcome[],
  rawAfter: (n: number) => boolean = () => false,
): { changes: LedgerChange[]; rawIds: bigint[] } {
  const sim = simulatorOf();
  const seen = new Set<bigint>();
  const rawIds: bigint[] = [];
  outcomes.forEach((outcome, n) => {
    for (const { transfer, status, timestamp } of outcome.transfers) {
      if (status !== CreateTransferStatus.created || seen.has(transfer.id)) continue;
      seen.add(transfer.id);
      sim.transfer(simTransferOf({ ...transfer, timestamp }));
    }
    if (!rawAfter(n) || sim.lastNs < CHANGES_BASE_NS) return;
    const id = (1n << 110n) + BigInt(n);
    rawIds.push(id);
    sim.transfer({
      id,
      debitAccountId: ACCOUNTS.cash.ledgerId,
      creditAccountId: ACCOUNTS.alice.ledgerId,
      amount: BigInt(n + 1),
      timestamp: sim.lastNs + 3n,
    });
  });
  return { changes: [...sim.changes], rawIds };
}
