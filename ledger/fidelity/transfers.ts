/**
 * Random transfer events: single-phase and pending movements (balancing, closing, timeouts,
 * amounts from 0 to u128 max), posts and voids (whole, partial, zero, over the pending amount,
 * with inherited or mismatched fields), duplicates within the batch, retries of earlier
 * transfers (verbatim: `exists` / `id_already_failed`; one field changed:
 * `exists_with_different_*`) and events TigerBeetle rejects on their own.
 */
import { TransferFlags as TF, U128_MAX, U32_MAX, U64_MAX } from '../port';
import { type LedgerRef, type Ref, TIMEOUT_SHORT_S_MAX, type TransferSpec } from './model';
import type { GenState, PendingInfo } from './state';

/** Flag bits TigerBeetle 0.17 does not define (reserved_flag). */
const TRANSFER_FLAG_RESERVED = 1 << 9;

function amount(s: GenState, debit: Ref, credit: Ref): bigint {
  const r = s.r;
  const big = s.isBig(debit) && s.isBig(credit);
  return r.weighted<() => bigint>([
    [big ? 5 : 75, () => BigInt(r.between(1, 1000))],
    [big ? 15 : 8, () => r.pick([U64_MAX, U64_MAX - 1n, 1n << 64n, r.bits(64)])],
    [big ? 60 : 1, () => r.pick([U128_MAX, U128_MAX - 1n, 1n << 127n, r.bits(128)])],
    [5, () => 0n],
  ])();
}

function pendingTimeout(s: GenState): number {
  const r = s.r;
  return r.weighted<() => number>([
    [60, () => 0],
    [25, () => r.pick([3600, 86_400, U32_MAX])],
    [3, () => r.between(1, TIMEOUT_SHORT_S_MAX)],
  ])();
}

function creditFor(s: GenState, debit: Ref): Ref {
  const r = s.r;
  const ledger = s.ledgerOf(debit);
  const peers = s.accounts.filter((a) => a.id !== debit && (a.ledger || 'L') === ledger);
  if (peers.length === 0 || r.chance(0.08)) return s.account();
  return r.pick(peers).id;
}

/** A single-phase or pending transfer between accounts (mostly valid ones). */
export function movement(s: GenState, pending: boolean): TransferSpec {
  const r = s.r;
  const debit = s.account();
  const credit = creditFor(s, debit);
  let flags = pending ? TF.pending : TF.none;
  flags |= r.weighted([
    [84, 0],
    [7, TF.balancing_debit],
    [7, TF.balancing_credit],
    [2, TF.balancing_debit | TF.balancing_credit],
  ]);
  // Closing is for pending transfers; on others it is refused (closing_transfer_must_be_pending).
  const closingDrawn = pending
    ? r.weighted([
        [70, 0],
        [12, TF.closing_debit],
        [12, TF.closing_credit],
        [6, TF.closing_debit | TF.closing_credit],
      ])
    : r.weighted([
        [199, 0],
        [1, TF.closing_debit],
      ]);
  const closable =
    (s.isClosable(debit) ? TF.closing_debit : 0) | (s.isClosable(credit) ? TF.closing_credit : 0);
  const closing = pending ? closingDrawn & closable : closingDrawn;
  flags |= closing;
  const balancing = (flags & (TF.balancing_debit | TF.balancing_credit)) !== 0;
  const t: TransferSpec = {
    id: s.newTransferRef(),
    debit,
    credit,
    amount: balancing && r.chance(0.5) ? U128_MAX : amount(s, debit, credit),
    pending: '0',
    user_data_128: s.userData128(),
    user_data_64: s.userData64(),
    user_data_32: s.userData32(),
    timeout: pending ? pendingTimeout(s) : r.chance(0.02) ? 1 : 0,
    ledger: r.chance(0.03) ? r.pick<'L' | 'L2' | 0>(['L', 'L2', 0]) : s.ledgerOf(debit),
    code: s.code(),
    flags,
  };
  if (pending) {
    const info: PendingInfo = {
      ref: t.id,
      debit,
      credit,
      amount: t.amount,
      ledger: t.ledger,
      code: t.code,
    };
    s.pendings.push(info);
    if (closing !== 0 && r.chance(0.7)) s.toVoid.push(info);
  }
  return t;
}

function pendingTarget(s: GenState, isVoid: boolean): PendingInfo | Ref {
  const r = s.r;
  if (isVoid && s.toVoid.length > 0 && r.chance(0.6)) return s.toVoid.shift()!;
  if (s.pendings.length > 0 && r.chance(0.9)) {
    const recent = s.pendings.slice(-4);
    return r.chance(0.6) ? r.pick(recent) : r.pick(s.pendings);
  }
  return r.weighted<() => Ref>([
    [4, () => s.unknownRef()],
    [2, () => '0'],
    [1, () => 'MAX'],
    [3, () => (s.transfers.length > 0 ? r.pick(s.transfers).id : s.unknownRef())],
    // The id the resolution itself is about to get: pending_id_must_be_different.
    [1, () => s.newTransferRef()],
  ])();
}

function resolutionAmount(s: GenState, isVoid: boolean, pendingAmount: bigint): bigint {
  const r = s.r;
  return r.weighted<() => bigint>([
    [40, () => (isVoid ? 0n : U128_MAX)],
    [20, () => pendingAmount],
    [12, () => pendingAmount / 2n],
    [10, () => 0n],
    [10, () => (pendingAmount < U128_MAX ? pendingAmount + 1n : pendingAmount)],
    [8, () => BigInt(r.between(1, 1000))],
  ])();
}

/** A post or void of an earlier pending transfer (or of something that is not one). */
export function resolution(s: GenState, isVoid: boolean): TransferSpec {
  const r = s.r;
  const target = pendingTarget(s, isVoid);
  const p = typeof target === 'string' ? undefined : target;
  const side = (own: Ref | undefined): Ref =>
    r.weighted<() => Ref>([
      [75, () => '0'],
      [15, () => own ?? s.account()],
      [10, () => s.account()],
    ])();
  const inherit = <T>(own: T | undefined, zero: T, other: T): T =>
    r.weighted<() => T>([
      [80, () => zero],
      [10, () => own ?? other],
      [10, () => other],
    ])();
  let flags = isVoid ? TF.void_pending_transfer : TF.post_pending_transfer;
  flags |= r.weighted([
    [96, 0],
    [1, isVoid ? TF.post_pending_transfer : TF.void_pending_transfer],
    [1, TF.pending],
    [1, TF.balancing_debit],
    [1, TF.closing_credit],
  ]);
  const id = s.newTransferRef();
  return {
    id,
    debit: side(p?.debit),
    credit: side(p?.credit),
    amount: resolutionAmount(s, isVoid, p?.amount ?? 10n),
    pending: typeof target === 'string' ? target : target.ref,
    user_data_128: r.chance(0.7) ? 0n : s.userData128(),
    user_data_64: r.chance(0.7) ? 0n : s.userData64(),
    user_data_32: r.chance(0.7) ? 0 : s.userData32(),
    timeout: r.chance(0.03) ? 1 : 0,
    ledger: inherit<LedgerRef>(p?.ledger, 0, p?.ledger === 'L2' ? 'L' : 'L2'),
    code: inherit(p?.code, 0, ((p?.code ?? 1) % 3) + 1),
    flags,
  };
}

/** `t` with one field changed, so a retry meets exists_with_different_<field>. */
export function mutated(s: GenState, t: TransferSpec): TransferSpec {
  const r = s.r;
  const changes: (() => Partial<TransferSpec>)[] = [
    () => ({ flags: t.flags ^ TF.balancing_debit }),
    () => ({ pending: t.pending === '0' ? s.unknownRef() : '0' }),
    () => ({ timeout: t.timeout === U32_MAX ? 0 : t.timeout + 1 }),
    () => ({ debit: s.account() }),
    () => ({ credit: s.account() }),
    () => ({ amount: t.amount === U128_MAX ? 0n : t.amount + 1n }),
    () => ({ user_data_128: t.user_data_128 + 1n }),
    () => ({ user_data_64: t.user_data_64 === U64_MAX ? 0n : t.user_data_64 + 1n }),
    () => ({ user_data_32: t.user_data_32 === U32_MAX ? 0 : t.user_data_32 + 1 }),
    () => ({ ledger: t.ledger === 'L' ? 'L2' : 'L' }),
    () => ({ code: (t.code % 3) + 1 }),
  ];
  return { ...t, ...r.pick(changes)() };
}

/** Events TigerBeetle refuses on their own, whatever the state. */
export function invalid(s: GenState): TransferSpec {
  const r = s.r;
  const t = movement(s, r.chance(0.3));
  return r.pick<() => TransferSpec>([
    () => ({ ...t, id: '0' }),
    () => ({ ...t, id: 'MAX' }),
    () => ({ ...t, flags: t.flags | TRANSFER_FLAG_RESERVED }),
    () => ({ ...t, pending: s.unknownRef() }),
    () => ({ ...t, credit: t.debit }),
    () => ({ ...t, ledger: 0 }),
    () => ({ ...t, code: 0 }),
    // Imported with no timestamp: out of range (and, first in a batch, the batch imports).
    () => ({ ...t, flags: t.flags | TF.imported }),
  ])();
}
