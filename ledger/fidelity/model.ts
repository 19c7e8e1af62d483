/**
 * What the fuzzer sends, in symbolic form: steps (one create batch and the reads that follow it)
 * whose ids, ledgers and filter timestamps are names, not values.
 *
 * Names make a step replayable anywhere: every run (and every shrinking trial) binds them afresh
 * to ids and ledger numbers no other run uses (./bind.ts), and filter timestamps are resolved on
 * each ledger from that ledger's own timestamps of the run's objects.
 */

/**
 * An id: `A<n>` the run's account n, `T<n>` its transfer n, `U<n>` an id never created, or the
 * edge values `0` and `MAX` (u128 max), which TigerBeetle rejects per event.
 */
export type Ref = string;

/** `L` is the run's ledger, `L2` its second one; 0 is the literal 0 (no ledger / inherit). */
export type LedgerRef = 'L' | 'L2' | 0;

/**
 * A filter timestamp: a literal u64, or the timestamp of the run's object at fraction `at` of
 * the objects created so far (in creation order), plus `delta` (+1 for a lower bound meaning
 * "after it", -1 for an upper bound meaning "before it").
 */
export type TimestampSpec = bigint | { at: number; delta: -1 | 0 | 1 };

export interface AccountSpec {
  id: Ref;
  user_data_128: bigint;
  user_data_64: bigint;
  user_data_32: number;
  reserved: number;
  ledger: LedgerRef;
  code: number;
  flags: number;
  /** A balance field set to 1 (TigerBeetle wants them zero on create). */
  nonzero?: 'debits_pending' | 'debits_posted' | 'credits_pending' | 'credits_posted';
}

export interface TransferSpec {
  id: Ref;
  debit: Ref;
  credit: Ref;
  amount: bigint;
  pending: Ref;
  user_data_128: bigint;
  user_data_64: bigint;
  user_data_32: number;
  timeout: number;
  ledger: LedgerRef;
  code: number;
  flags: number;
}

export interface AccountFilterSpec {
  account: Ref;
  user_data_128: bigint;
  user_data_64: bigint;
  user_data_32: number;
  code: number;
  timestamp_min: TimestampSpec;
  timestamp_max: TimestampSpec;
  limit: number;
  flags: number;
}

export interface QueryFilterSpec {
  user_data_128: bigint;
  user_data_64: bigint;
  user_data_32: number;
  /** Never 0: every query carries one of the run's ledgers, so other clients' data never shows. */
  ledger: 'L' | 'L2';
  code: number;
  timestamp_min: TimestampSpec;
  timestamp_max: TimestampSpec;
  limit: number;
  flags: number;
}

export type LookupOp = 'lookup_accounts' | 'lookup_transfers';
export type AccountQueryOp = 'get_account_transfers' | 'get_account_balances';
export type QueryOp = 'query_accounts' | 'query_transfers';

export type Read =
  | { op: LookupOp; ids: Ref[] }
  | { op: AccountQueryOp; filter: AccountFilterSpec }
  | { op: QueryOp; filter: QueryFilterSpec };

export type Step =
  | { op: 'create_accounts'; events: AccountSpec[]; reads: Read[] }
  | { op: 'create_transfers'; events: TransferSpec[]; reads: Read[] };

/** Pending timeouts this short expire during a run: the runner keeps clear of their deadlines. */
export const TIMEOUT_SHORT_S_MAX = 2;

/** A divergence: where the two ledgers first answered differently, and how. */
export interface Divergence {
  /** Index of the step in the sequence that was run. */
  step: number;
  /** `create` or the index of the read within the step. */
  at: 'create' | number;
  operation: string;
  detail: string;
  /** The step ran while a short pending transfer was near its deadline (see ./windows.ts). */
  nearExpiry: boolean;
}
