/**
 * The reads after each batch: every account of the run (so every balance is compared after every
 * batch), a sample of transfers (this batch's, earlier ones, unknown ids), and random queries —
 * get_account_transfers / get_account_balances / query_accounts / query_transfers with random
 * filters: sides and `reversed`, limits (including 0 and over the reply limit), timestamp ranges
 * (object references and literal edge values), user_data / code / ledger filters.
 */
import { AccountFilterFlags as AFF, U32_MAX, U64_MAX } from '../port';
import type { AccountFilterSpec, QueryFilterSpec, Read, Ref, Step, TimestampSpec } from './model';
import type { GenState } from './state';

/** TigerBeetle's largest timestamp (u63 max); above it a filter bound is invalid. */
const TIMESTAMP_MAX = (1n << 63n) - 1n;
/** Transfers looked up per step, besides the batch's own (at most this many of those). */
const LOOKUP_TRANSFERS_OWN_MAX = 4;
const LOOKUP_TRANSFERS_EARLIER = 2;

function timestamp(s: GenState, bound: 'min' | 'max'): TimestampSpec {
  const r = s.r;
  return r.weighted<() => TimestampSpec>([
    [50, () => 0n],
    [
      35,
      () => ({
        at: r.fraction(),
        delta: bound === 'min' ? r.pick([0, 1] as const) : r.pick([0, -1] as const),
      }),
    ],
    [
      15,
      () =>
        r.pick([
          1n,
          TIMESTAMP_MAX,
          TIMESTAMP_MAX + 1n,
          TIMESTAMP_MAX + 1n + r.bits(32),
          U64_MAX - 1n,
          U64_MAX,
        ]),
    ],
  ])();
}

function limit(s: GenState): number {
  return s.r.weighted([
    [20, 1],
    [20, 2],
    [15, 3],
    [15, 5],
    [10, 10],
    [14, 8189],
    [2, 0],
    [2, 8190],
    [1, U32_MAX],
  ]);
}

function accountFilter(s: GenState): AccountFilterSpec {
  const r = s.r;
  return {
    account: s.account(),
    user_data_128: r.chance(0.8) ? 0n : s.userData128(),
    user_data_64: r.chance(0.8) ? 0n : s.userData64(),
    user_data_32: r.chance(0.8) ? 0 : s.userData32(),
    code: r.chance(0.75) ? 0 : s.code(),
    timestamp_min: timestamp(s, 'min'),
    timestamp_max: timestamp(s, 'max'),
    limit: limit(s),
    flags: r.weighted([
      [30, AFF.debits | AFF.credits],
      [12, AFF.debits],
      [12, AFF.credits],
      [25, AFF.debits | AFF.credits | AFF.reversed],
      [7, AFF.debits | AFF.reversed],
      [7, AFF.credits | AFF.reversed],
      [3, AFF.none],
      [2, AFF.reversed],
      [2, AFF.debits | AFF.credits | (1 << 3)],
    ]),
  };
}

function queryFilter(s: GenState): QueryFilterSpec {
  const r = s.r;
  return {
    user_data_128: r.chance(0.75) ? 0n : s.userData128(),
    user_data_64: r.chance(0.8) ? 0n : s.userData64(),
    user_data_32: r.chance(0.8) ? 0 : s.userData32(),
    ledger: r.chance(0.85) ? 'L' : 'L2',
    code: r.chance(0.75) ? 0 : s.code(),
    timestamp_min: timestamp(s, 'min'),
    timestamp_max: timestamp(s, 'max'),
    limit: limit(s),
    flags: r.weighted([
      [50, 0],
      [45, 1],
      [5, 1 << 1],
    ]),
  };
}

function query(s: GenState): Read {
  const op = s.r.pick([
    'get_account_transfers',
    'get_account_balances',
    'query_accounts',
    'query_transfers',
  ] as const);
  if (op === 'get_account_transfers' || op === 'get_account_balances') {
    return { op, filter: accountFilter(s) };
  }
  return { op, filter: queryFilter(s) };
}

function transferIds(s: GenState, step: Step): Ref[] {
  const r = s.r;
  const own = step.op === 'create_transfers' ? step.events.map((t) => t.id) : [];
  const ids = own.slice(0, LOOKUP_TRANSFERS_OWN_MAX);
  for (let i = 0; i < LOOKUP_TRANSFERS_EARLIER && s.transfers.length > 0; i++) {
    ids.push(r.pick(s.transfers).id);
  }
  if (r.chance(0.5)) ids.splice(r.int(ids.length + 1), 0, s.unknownRef());
  return ids;
}

export function readsAfter(s: GenState, step: Step): Read[] {
  const r = s.r;
  const accounts = s.accounts.map((a) => a.id);
  accounts.splice(r.int(accounts.length + 1), 0, s.unknownRef());
  const reads: Read[] = [
    { op: 'lookup_accounts', ids: accounts },
    { op: 'lookup_transfers', ids: transferIds(s, step) },
  ];
  const queries = r.weighted([
    [35, 0],
    [45, 1],
    [20, 2],
  ]);
  for (let i = 0; i < queries; i++) reads.push(query(s));
  return reads;
}
