/**
 * The seeded generator: step i depends only on the seed and steps before it, so the first k steps
 * of a seed are the same whatever the run's length, and `--seed S --batches k` replays a prefix.
 *
 * A step is one create batch and its reads. The first creates the run's first accounts; then
 * about one step in eight creates accounts, the rest transfers: a mix of the kinds in
 * ./transfers.ts, cut into linked chains (some broken by a failing event, some left open at the
 * batch's end), with now and then a whole earlier batch sent again.
 */
import { firstAccounts, invalidAccount, mutatedAccount, newAccount } from './accounts';
import type { AccountSpec, Step, TransferSpec } from './model';
import { Random } from './random';
import { readsAfter } from './reads';
import { ACCOUNTS_MAX, GenState } from './state';
import { invalid, movement, mutated, resolution } from './transfers';

const LINKED = 1; // Same bit in AccountFlags and TransferFlags.

type TransferKind = 'plain' | 'pending' | 'post' | 'void' | 'dup' | 'retry' | 'invalid';

export class Generator {
  private readonly s: GenState;

  constructor(readonly seed: number) {
    this.s = new GenState(new Random(seed));
  }

  next(): Step {
    const s = this.s;
    const r = s.r;
    let step: Step;
    if (s.steps.length === 0) {
      step = { op: 'create_accounts', events: firstAccounts(s), reads: [] };
    } else if (r.chance(0.12)) {
      step = { op: 'create_accounts', events: this.accountEvents(), reads: [] };
    } else if (r.chance(0.06)) {
      step = { op: 'create_transfers', events: this.retryBatch(), reads: [] };
    } else {
      step = { op: 'create_transfers', events: this.transferEvents(), reads: [] };
    }
    step.reads = readsAfter(s, step);
    s.steps.push(step);
    return step;
  }

  private batchSize(): number {
    const r = this.s.r;
    return r.weighted<() => number>([
      [20, () => 1],
      [55, () => r.between(2, 8)],
      [22, () => r.between(9, 30)],
      [3, () => r.between(100, 300)],
    ])();
  }

  private transferEvents(): TransferSpec[] {
    const s = this.s;
    const r = s.r;
    const events: TransferSpec[] = [];
    const n = this.batchSize();
    for (let i = 0; i < n; i++) {
      const kind = r.weighted<TransferKind>([
        [38, 'plain'],
        [20, 'pending'],
        [11, 'post'],
        [9, 'void'],
        [4, 'dup'],
        [6, 'retry'],
        [3, 'invalid'],
      ]);
      const t = this.transferEvent(kind, events);
      if (t.id === s.newTransferRef()) s.transfers.push(t);
      events.push(t);
    }
    return link(r, events);
  }

  private transferEvent(kind: TransferKind, batch: TransferSpec[]): TransferSpec {
    const s = this.s;
    const r = s.r;
    switch (kind) {
      case 'plain':
      case 'pending':
        return movement(s, kind === 'pending');
      case 'post':
      case 'void':
        return resolution(s, kind === 'void');
      case 'dup':
      case 'retry': {
        const pool = kind === 'dup' ? batch : s.transfers;
        if (pool.length === 0) return movement(s, false);
        const t = r.pick(pool);
        return r.chance(0.6) ? { ...t } : mutated(s, t);
      }
      case 'invalid':
        return invalid(s);
    }
  }

  private accountEvents(): AccountSpec[] {
    const s = this.s;
    const r = s.r;
    const events: AccountSpec[] = [];
    const n = r.between(1, 6);
    for (let i = 0; i < n; i++) {
      const full = s.accounts.length >= ACCOUNTS_MAX;
      const kind = r.weighted([
        [full ? 0 : 62, 'new'],
        [13, 'retry'],
        [10, 'mutate'],
        [10, 'invalid'],
        [5, 'dup'],
      ] as const);
      let a: AccountSpec;
      if (kind === 'new') a = newAccount(s);
      else if (kind === 'invalid') a = invalidAccount(s);
      else if (kind === 'dup' && events.length > 0) a = { ...r.pick(events) };
      else if (kind === 'mutate') a = mutatedAccount(s, r.pick(s.accounts));
      else a = { ...r.pick(s.accounts) };
      if (kind !== 'invalid' && a.id === s.newAccountRef()) s.accounts.push(a);
      events.push(a);
    }
    return link(r, events);
  }

  /** An earlier transfer batch, sent again: verbatim, or with one event changed. */
  private retryBatch(): TransferSpec[] {
    const s = this.s;
    const r = s.r;
    const earlier = s.steps.flatMap((step) => (step.op === 'create_transfers' ? [step] : []));
    if (earlier.length === 0) return this.transferEvents();
    const events = r.pick(earlier).events.map((t) => ({ ...t }));
    if (r.chance(0.4)) {
      const i = r.int(events.length);
      events[i] = mutated(s, events[i]!);
    }
    return events;
  }
}

/**
 * Sets or clears the `linked` flag of each event: chains of 2–4 events, mostly closed; sometimes
 * the batch's last event is linked (its chain is left open: linked_event_chain_open).
 */
function link<E extends { flags: number }>(r: Random, events: E[]): E[] {
  for (const e of events) e.flags &= ~LINKED;
  let i = 0;
  while (i < events.length - 1) {
    if (!r.chance(0.06)) {
      i += 1;
      continue;
    }
    const length = Math.min(r.between(2, 4), events.length - i);
    for (let j = i; j < i + length - 1; j++) events[j]!.flags |= LINKED;
    i += length;
  }
  const last = events[events.length - 1];
  if (last !== undefined && r.chance(0.03)) last.flags |= LINKED;
  return events;
}

/** The first `count` steps of `seed`. */
export function generateSteps(seed: number, count: number): Step[] {
  const generator = new Generator(seed);
  return Array.from({ length: count }, () => generator.next());
}
