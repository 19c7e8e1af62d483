/**
 * holder-dashboard: per holder (account.holder_id), the accounts that have moved, the totals per
 * asset (TigerBeetle's four totals, and the posted balance on each account's normal side summed),
 * how many outcome events touched the holder, and the last activity (TigerBeetle timestamp).
 *
 * The holder, asset and normal side of an account come from the control plane's `account` and
 * `account_type` tables (same database), which are written before any journal can name the
 * account and never change those columns afterwards, so a rebuild reads the same answers. A
 * posting on an account the control plane does not know (it cannot happen through the bridge)
 * is left out. Counters add and timestamps take the maximum: arrival order never matters.
 */
import type { Queryable } from '../../../core/postgres/pool';
import type { Projection, ProjectedEvent } from '../projection';
import { compareDecimal, maxDecimal, prepareBatch, type Posting } from './postings';

export const HOLDER_DASHBOARD_TABLES = {
  holders: 'rm_holder',
  accounts: 'rm_holder_account',
  assets: 'rm_holder_asset',
  holds: 'rm_holder_hold',
  applied: 'rm_holder_applied',
} as const;

interface AccountFacts {
  holderId: string;
  asset: string;
  normalSide: 'DEBIT' | 'CREDIT';
}

async function accountFacts(tx: Queryable, ids: string[]): Promise<Map<string, AccountFacts>> {
  const { rows } = await tx.query<{
    account_id: string;
    holder_id: string;
    asset: string;
    normal_side: 'DEBIT' | 'CREDIT';
  }>(
    `SELECT a.account_id, a.holder_id, a.asset, t.normal_side
     FROM account a JOIN account_type t ON t.code = a.account_type
     WHERE a.account_id = ANY($1::text[])`,
    [ids],
  );
  return new Map(
    rows.map((r) => [
      r.account_id,
      { holderId: r.holder_id, asset: r.asset, normalSide: r.normal_side },
    ]),
  );
}

interface Aggregates {
  accounts: Map<string, { holderId: string; asset: string; first: string; last: string }>;
  assets: Map<string, AssetTotals>;
  holders: Map<string, { events: Set<string>; last: string }>;
}

interface AssetTotals {
  holderId: string;
  asset: string;
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
  balancePosted: bigint;
  last: string;
}

function aggregate(postings: readonly Posting[], facts: Map<string, AccountFacts>): Aggregates {
  const out: Aggregates = { accounts: new Map(), assets: new Map(), holders: new Map() };
  for (const p of postings) {
    const fact = p.accountId === null ? undefined : facts.get(p.accountId);
    if (fact === undefined || p.accountId === null) continue;
    const ts = p.tbTimestamp;
    const account = out.accounts.get(p.accountId);
    if (account === undefined) {
      out.accounts.set(p.accountId, { ...fact, first: ts, last: ts });
    } else {
      account.first = compareDecimal(ts, account.first) < 0 ? ts : account.first;
      account.last = maxDecimal(account.last, ts);
    }
    const holder = out.holders.get(fact.holderId) ?? { events: new Set<string>(), last: ts };
    holder.events.add(p.event.eventId);
    holder.last = maxDecimal(holder.last, ts);
    out.holders.set(fact.holderId, holder);
    const key = `${fact.holderId}\u0000${fact.asset}`;
    const totals = out.assets.get(key) ?? {
      holderId: fact.holderId,
      asset: fact.asset,
      debitsPending: 0n,
      debitsPosted: 0n,
      creditsPending: 0n,
      creditsPosted: 0n,
      balancePosted: 0n,
      last: ts,
    };
    totals.last = maxDecimal(totals.last, ts);
    if (p.side === 'DEBIT') {
      totals.debitsPending += p.pending;
      totals.debitsPosted += p.posted;
    } else {
      totals.creditsPending += p.pending;
      totals.creditsPosted += p.posted;
    }
    totals.balancePosted += p.side === fact.normalSide ? p.posted : -p.posted;
    out.assets.set(key, totals);
  }
  return out;
}

function sortedValues<V>(map: Map<string, V>): [string[], V[]] {
  const keys = [...map.keys()].sort();
  return [keys, keys.map((key) => map.get(key)!)];
}

async function write(tx: Queryable, agg: Aggregates): Promise<void> {
  const [accountIds, accounts] = sortedValues(agg.accounts);
  await tx.query(
    `INSERT INTO rm_holder_account AS a (account_id, holder_id, asset, first_tb_timestamp,
       last_tb_timestamp)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::numeric[])
     ON CONFLICT (account_id) DO UPDATE SET
       first_tb_timestamp = LEAST(a.first_tb_timestamp, excluded.first_tb_timestamp),
       last_tb_timestamp = GREATEST(a.last_tb_timestamp, excluded.last_tb_timestamp)`,
    [
      accountIds,
      accounts.map((a) => a.holderId),
      accounts.map((a) => a.asset),
      accounts.map((a) => a.first),
      accounts.map((a) => a.last),
    ],
  );
  const [, assets] = sortedValues(agg.assets);
  const big = (pick: (t: AssetTotals) => bigint) => assets.map((t) => pick(t).toString());
  // Rows first, then the deltas: a CHECK (≥ 0) is evaluated on an INSERT's proposed row before
  // ON CONFLICT, and a hold's release is a negative delta on an existing row.
  await tx.query(
    `INSERT INTO rm_holder_asset (holder_id, asset, debits_pending, debits_posted,
       credits_pending, credits_posted, balance_posted, last_tb_timestamp)
     SELECT h, a, 0, 0, 0, 0, 0, 0 FROM unnest($1::text[], $2::text[]) AS u(h, a)
     ON CONFLICT (holder_id, asset) DO NOTHING`,
    [assets.map((t) => t.holderId), assets.map((t) => t.asset)],
  );
  await tx.query(
    `UPDATE rm_holder_asset AS h SET
       debits_pending = h.debits_pending + u.dp,
       debits_posted = h.debits_posted + u.dpo,
       credits_pending = h.credits_pending + u.cp,
       credits_posted = h.credits_posted + u.cpo,
       balance_posted = h.balance_posted + u.balance,
       last_tb_timestamp = GREATEST(h.last_tb_timestamp, u.ts)
     FROM unnest($1::text[], $2::text[], $3::numeric[], $4::numeric[], $5::numeric[],
       $6::numeric[], $7::numeric[], $8::numeric[]) AS u(holder_id, asset, dp, dpo, cp, cpo,
       balance, ts)
     WHERE h.holder_id = u.holder_id AND h.asset = u.asset`,
    [
      assets.map((t) => t.holderId),
      assets.map((t) => t.asset),
      big((t) => t.debitsPending),
      big((t) => t.debitsPosted),
      big((t) => t.creditsPending),
      big((t) => t.creditsPosted),
      big((t) => t.balancePosted),
      assets.map((t) => t.last),
    ],
  );
  const [holderIds, holders] = sortedValues(agg.holders);
  await tx.query(
    `INSERT INTO rm_holder AS h (holder_id, account_count, event_count, last_tb_timestamp)
     SELECT u.holder_id,
            (SELECT count(*) FROM rm_holder_account a WHERE a.holder_id = u.holder_id),
            u.events, u.last
     FROM unnest($1::text[], $2::bigint[], $3::numeric[]) AS u(holder_id, events, last)
     ON CONFLICT (holder_id) DO UPDATE SET
       account_count = excluded.account_count,
       event_count = h.event_count + excluded.event_count,
       last_tb_timestamp = GREATEST(h.last_tb_timestamp, excluded.last_tb_timestamp)`,
    [holderIds, holders.map((h) => h.events.size), holders.map((h) => h.last)],
  );
}

export const holderDashboardProjection: Projection = {
  name: 'holder-dashboard',
  tables: Object.values(HOLDER_DASHBOARD_TABLES),
  async apply(tx: Queryable, events: readonly ProjectedEvent[]): Promise<void> {
    const { postings } = await prepareBatch(tx, HOLDER_DASHBOARD_TABLES, events);
    const ids = [...new Set(postings.flatMap((p) => (p.accountId === null ? [] : [p.accountId])))];
    if (ids.length === 0) return;
    const agg = aggregate(postings, await accountFacts(tx, ids));
    if (agg.accounts.size === 0) return;
    await write(tx, agg);
  },
};
