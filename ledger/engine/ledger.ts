/**
 * The embedded engine behind the Ledger port: TigerBeetle's state machine semantics
 * (./state-machine.ts) made durable by a write-ahead log (./wal.ts).
 *
 * Like TigerBeetle, the log holds the *requests* (operation, commit timestamp, events), not their
 * effects: the state machine is deterministic, so replaying the log rebuilds exactly the state
 * that was acknowledged. A create request is executed in memory and appended to the log in one
 * synchronous step, so log order is execution order; its results are returned only once the
 * group-committed fdatasync covering it has returned. Reads are answered only after every write
 * they could reflect is durable, so nothing a caller sees can be lost by a crash.
 *
 * Beyond the Ledger port it answers TigerBeetle's get_change_events (`changes`), which
 * tigerbeetle-node does not offer: the engine's change feed (changefeed/engine-feed.ts) reads it.
 *
 * This is a stand-in for development, CI and benchmarks of the bridge, not a TigerBeetle
 * replacement: one process, state in memory, no replication.
 */
import fs from 'node:fs';
import { Operation } from 'tigerbeetle-node/dist/bindings';
import type { Account, Ledger, Transfer } from '../port';
import { BATCH_EVENTS_MAX, LedgerError } from '../port';
import {
  checkAccountFilterWire,
  checkAccountsWire,
  checkIdsWire,
  checkQueryFilterWire,
  checkTransfersWire,
} from '../wire';
import { checkChangesFilter } from './change-codec';
import type { LedgerChange } from './changes';
import { decodeAccounts, decodeTransfers, encodeAccounts, encodeTransfers } from './codec';
import { engineIdentity } from './identity';
import { lockDataDir } from './lock';
import { StateMachine } from './state-machine';
import { type ReplayReport, type WalRecord, WriteAheadLog } from './wal';

export interface EmbeddedLedgerOptions {
  /** Folder holding the log and the lock file; created if absent. */
  dataDir: string;
  /** Default true. false only for throwaway runs: acknowledged writes may then be lost. */
  fsync?: boolean;
  /** Wall clock in nanoseconds; commit timestamps never go below it. Injected by tests. */
  clockNs?: () => bigint;
}

const LOG_FILE = 'ledger.wal';
const EMPTY = Buffer.alloc(0);
// A pulse is never scheduled sooner than this after the previous one, so a backlog of expiring
// transfers is released in a few large steps rather than one timer per transfer.
const PULSE_INTERVAL_MS_MIN = 10;

const TIMER_DELAY_MS_MAX = 2_147_483_647;

const wallClockNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

export class EmbeddedLedger implements Ledger {
  private failure: Error | null = null;
  private closed = false;
  private pulseTimer: NodeJS.Timeout | null = null;
  private pulseAtNs: bigint | null = null;

  private constructor(
    private readonly machine: StateMachine,
    private readonly wal: WriteAheadLog,
    private readonly unlock: () => void,
    private readonly clockNs: () => bigint,
    /** What the last open found in the log. */
    readonly recovery: ReplayReport,
    /** The data directory's identity (./identity.ts): names its change feed's queues. */
    readonly engineId: string,
  ) {}

  static async open(options: EmbeddedLedgerOptions): Promise<EmbeddedLedger> {
    fs.mkdirSync(options.dataDir, { recursive: true });
    const unlock = lockDataDir(options.dataDir);
    try {
      const engineId = engineIdentity(options.dataDir, options.fsync ?? true);
      const machine = new StateMachine();
      const { wal, report } = await WriteAheadLog.open(
        `${options.dataDir}/${LOG_FILE}`,
        (record) => replay(machine, record),
        { fsync: options.fsync ?? true },
      );
      const ledger = new EmbeddedLedger(
        machine,
        wal,
        unlock,
        options.clockNs ?? wallClockNs,
        report,
        engineId,
      );
      ledger.schedulePulse();
      return ledger;
    } catch (error) {
      unlock();
      throw error;
    }
  }

  async createAccounts(batch: Account[]): ReturnType<Ledger['createAccounts']> {
    this.assertUsable('create_accounts');
    checkAccountsWire(batch);
    if (batch.length === 0) return [];
    const timestamp = this.machine.prepareTimestamp(batch.length, this.clockNs());
    const body = encodeAccounts(batch);
    const results = this.execute(() => this.machine.createAccounts(batch, timestamp));
    await this.append({ operation: Operation.create_accounts, timestamp, body });
    return results;
  }

  async createTransfers(batch: Transfer[]): ReturnType<Ledger['createTransfers']> {
    this.assertUsable('create_transfers');
    checkTransfersWire(batch);
    if (batch.length === 0) return [];
    const timestamp = this.machine.prepareTimestamp(batch.length, this.clockNs());
    const body = encodeTransfers(batch);
    const results = this.execute(() => this.machine.createTransfers(batch, timestamp));
    const durable = this.append({ operation: Operation.create_transfers, timestamp, body });
    this.schedulePulse();
    await durable;
    return results;
  }

  lookupAccounts: Ledger['lookupAccounts'] = (ids) =>
    this.read('lookup_accounts', () => {
      checkIdsWire(ids, 'lookup_accounts');
      return this.machine.lookupAccounts(ids);
    });

  lookupTransfers: Ledger['lookupTransfers'] = (ids) =>
    this.read('lookup_transfers', () => {
      checkIdsWire(ids, 'lookup_transfers');
      return this.machine.lookupTransfers(ids);
    });

  getAccountTransfers: Ledger['getAccountTransfers'] = (filter) =>
    this.read('get_account_transfers', () => {
      checkAccountFilterWire(filter);
      assertReplyLimit(filter.limit, 'get_account_transfers');
      return this.machine.getAccountTransfers(filter);
    });

  getAccountBalances: Ledger['getAccountBalances'] = (filter) =>
    this.read('get_account_balances', () => {
      checkAccountFilterWire(filter);
      assertReplyLimit(filter.limit, 'get_account_balances');
      return this.machine.getAccountBalances(filter);
    });

  queryAccounts: Ledger['queryAccounts'] = (filter) =>
    this.read('query_accounts', () => {
      checkQueryFilterWire(filter);
      assertReplyLimit(filter.limit, 'query_accounts');
      return this.machine.queryAccounts(filter);
    });

  queryTransfers: Ledger['queryTransfers'] = (filter) =>
    this.read('query_transfers', () => {
      checkQueryFilterWire(filter);
      assertReplyLimit(filter.limit, 'query_transfers');
      return this.machine.queryTransfers(filter);
    });

  /**
   * TigerBeetle's get_change_events: the change events at or after `timestampMin` (0: from the
   * first), in timestamp order, at most `limit` (0 finds nothing). Like every read it answers once
   * what it returns is durable, so a feed never publishes an event a crash could take back.
   */
  changes(timestampMin: bigint, limit: number): Promise<LedgerChange[]> {
    return this.read('get_change_events', () => {
      checkChangesFilter(timestampMin, limit);
      return this.machine.changes(timestampMin, limit);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pulseTimer) clearTimeout(this.pulseTimer);
    try {
      await this.wal.close();
    } finally {
      this.unlock();
    }
  }

  private assertUsable(operation: string): void {
    if (this.closed) throw new LedgerError('closed', `${operation}: the ledger is closed`);
    if (this.failure) {
      throw new LedgerError(
        'unavailable',
        `${operation}: the engine stopped after a fatal error: ${this.failure.message}`,
      );
    }
  }

  /** A throw from the state machine is a broken invariant: its state can no longer be trusted. */
  private execute<T>(step: () => T): T {
    try {
      return step();
    } catch (error) {
      this.failure = error as Error;
      throw error;
    }
  }

  private async append(record: WalRecord): Promise<void> {
    try {
      await this.wal.append(record);
    } catch (error) {
      // The state machine already applied the request; without its log record the in-memory
      // state is ahead of the durable one, so the engine must stop (restart replays the log).
      this.failure ??= error as Error;
      throw new LedgerError('unavailable', `write-ahead log: ${(error as Error).message}`);
    }
  }

  private async read<T>(operation: string, query: () => T): Promise<T> {
    this.assertUsable(operation);
    const result = query();
    // The answer may reflect writes whose fdatasync is still running: wait for it.
    await this.wal.flushed();
    return result;
  }

  /** Pending transfers expire through logged pulses, so replay expires them at the same point. */
  private schedulePulse(): void {
    if (this.closed || this.failure) return;
    const deadline = this.machine.nextExpiryNs();
    if (deadline === null) return;
    if (this.pulseTimer) {
      if (this.pulseAtNs !== null && this.pulseAtNs <= deadline) return;
      clearTimeout(this.pulseTimer);
    }
    this.pulseAtNs = deadline;
    // setTimeout fires at once past its 32-bit limit (~24.8 days): wait at most that long and
    // re-arm, since a hold may be up to u32 seconds.
    const delayMs = Math.min(
      TIMER_DELAY_MS_MAX,
      Math.max(PULSE_INTERVAL_MS_MIN, Number((deadline - this.clockNs()) / 1_000_000n) + 1),
    );
    this.pulseTimer = setTimeout(() => {
      this.pulseTimer = null;
      this.pulseAtNs = null;
      this.pulse();
    }, delayMs);
    this.pulseTimer.unref();
  }

  private pulse(): void {
    if (this.closed || this.failure) return;
    // Like TigerBeetle, a pulse reserves a batch's worth of timestamps: each expiry takes one.
    const timestamp = this.machine.prepareTimestamp(BATCH_EVENTS_MAX, this.clockNs());
    const expired = this.execute(() => this.machine.pulse(timestamp));
    if (expired > 0) {
      this.append({ operation: Operation.pulse, timestamp, body: EMPTY }).catch(() => {
        // append() recorded the failure; the next request reports it.
      });
    }
    this.schedulePulse();
  }
}

/**
 * tigerbeetle-node refuses, before sending, a query whose `limit` could need a reply larger than
 * one message: any limit over BATCH_EVENTS_MAX rejects with ERR_TOO_MUCH_DATA (`too_much_data`),
 * whatever the rest of the filter — verified on 0.17.9 for all four query operations
 * (test/support/conformance/bad-input.ts). The engine refuses it the same way, instead of capping it.
 */
function assertReplyLimit(limit: number, operation: string): void {
  if (limit > BATCH_EVENTS_MAX) {
    throw new LedgerError(
      'too_much_data',
      `${operation}: limit ${limit} exceeds the ${BATCH_EVENTS_MAX} results one reply can hold`,
    );
  }
}

function replay(machine: StateMachine, record: WalRecord): void {
  switch (record.operation) {
    case Operation.create_accounts:
      machine.createAccounts(decodeAccounts(record.body), record.timestamp);
      return;
    case Operation.create_transfers:
      machine.createTransfers(decodeTransfers(record.body), record.timestamp);
      return;
    case Operation.pulse:
      machine.pulse(record.timestamp);
      return;
    default:
      throw new Error(`write-ahead log: unknown operation ${record.operation} in a valid record`);
  }
}
