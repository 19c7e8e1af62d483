/**
 * The Ledger port: the operations of tigerbeetle-node 0.17.x's Client, with its types.
 *
 * Every money movement in the bridge goes through this interface. Two adapters implement it:
 * the TigerBeetle cluster (`./tigerbeetle.ts`) and the embedded engine
 * (`ledger/engine/`), which stands in when no cluster is configured. The conformance suite
 * (`test/conformance/`) is written against this file only, so both adapters are held to the same
 * behaviour.
 *
 * Types and enums come from tigerbeetle-node's generated bindings, so a new status in a client
 * upgrade breaks our exhaustive mappings at compile time instead of slipping through.
 */
import type {
  Account,
  AccountBalance,
  AccountFilter,
  CreateAccountResult,
  CreateTransferResult,
  QueryFilter,
  Transfer,
} from 'tigerbeetle-node/dist/bindings';

export {
  AccountFilterFlags,
  AccountFlags,
  CreateAccountStatus,
  CreateTransferStatus,
  QueryFilterFlags,
  TransferFlags,
} from 'tigerbeetle-node/dist/bindings';
export type {
  Account,
  AccountBalance,
  AccountFilter,
  CreateAccountResult,
  CreateTransferResult,
  QueryFilter,
  Transfer,
};

/**
 * Events per request. TigerBeetle's message is 1 MiB: 8190 events of 128 bytes after the header,
 * less one slot for the multi-batch trailer. A larger batch is rejected whole (ERR_TOO_MUCH_DATA).
 */
export const BATCH_EVENTS_MAX = 8189;

/** u128 upper bound; ids and amounts are u128 on the wire. */
export const U128_MAX = (1n << 128n) - 1n;
export const U64_MAX = (1n << 64n) - 1n;
export const U32_MAX = 0xffff_ffff;
export const U16_MAX = 0xffff;

/**
 * Ordering: each answer is consistent in itself, and a call made after another has resolved sees
 * its effects. Nothing more: TigerBeetle's client may execute concurrent calls out of call order
 * (it merges a new request into a queued one of the same operation), so callers never rely on the
 * order in which concurrent calls were issued (test/support/conformance/ordering.ts).
 */
export interface Ledger {
  /** Results for every event, in order: `status` is `created`, `exists` or why it failed. */
  createAccounts(batch: Account[]): Promise<CreateAccountResult[]>;
  createTransfers(batch: Transfer[]): Promise<CreateTransferResult[]>;
  /** Found accounts only, in the order of `ids` (missing ids are skipped, as TigerBeetle does). */
  lookupAccounts(ids: bigint[]): Promise<Account[]>;
  lookupTransfers(ids: bigint[]): Promise<Transfer[]>;
  getAccountTransfers(filter: AccountFilter): Promise<Transfer[]>;
  /** Historical balances; only for accounts created with `AccountFlags.history`. */
  getAccountBalances(filter: AccountFilter): Promise<AccountBalance[]>;
  queryAccounts(filter: QueryFilter): Promise<Account[]>;
  queryTransfers(filter: QueryFilter): Promise<Transfer[]>;
  /** Stop accepting requests, finish or reject what is in flight, release resources. */
  close(): Promise<void>;
}

/**
 * Why a whole request failed (as opposed to per-event statuses, which are values).
 * - `too_much_data`: more than BATCH_EVENTS_MAX events (TigerBeetle's ERR_TOO_MUCH_DATA).
 * - `invalid_event`: an event the wire format cannot carry (a field out of its integer range or
 *   of the wrong type); TigerBeetle's client throws on these before sending.
 * - `closed`: the ledger was closed.
 * - `unavailable`: the cluster did not answer in time; the request may still commit, so a retry
 *   must reuse the same ids (it then gets `exists`).
 */
export type LedgerErrorCode = 'too_much_data' | 'invalid_event' | 'closed' | 'unavailable';

export class LedgerError extends Error {
  override readonly name = 'LedgerError';
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
    /** Index of the offending event in the batch, where there is one. */
    readonly eventIndex?: number,
  ) {
    super(message);
  }
}
