/**
 * Runs steps against both ledgers, one call at a time, and compares every answer.
 *
 * Each call goes to the engine, is awaited, then to the cluster, and is awaited: never two calls
 * in flight. The port promises no order between concurrent calls (tigerbeetle-node merges a call
 * into a queued one of the same operation, so a later write can run before an earlier read;
 * test/support/conformance/ordering.ts), and a comparison needs both ledgers to have seen the same calls
 * in the same order. Before each call the runner waits until no short pending transfer is near
 * its deadline (./windows.ts). The first disagreement ends the run.
 */
import {
  CreateAccountStatus,
  CreateTransferStatus,
  type Ledger,
  LedgerError,
  TransferFlags,
} from '../port';
import {
  type Binding,
  bindAccount,
  bindAccountFilter,
  bindId,
  bindQueryFilter,
  bindTransfer,
} from './bind';
import { compareCreate, compareObjects, type ObjectKind, type Outcome } from './compare';
import {
  type Divergence,
  type Read,
  type Step,
  TIMEOUT_SHORT_S_MAX,
  type TimestampSpec,
  type TransferSpec,
} from './model';
import { type Side, TimestampMap } from './timestamps';
import { ExpiryWindows } from './windows';

/** Both ledgers' answers to one call, and the wall-clock span of the pair of calls. */
interface Answers<T> {
  engine: Outcome<T>;
  cluster: Outcome<T>;
  startMs: number;
  endMs: number;
  /** The calls overran into a pending transfer's expiry window (./windows.ts). */
  nearExpiry: boolean;
}

export interface Ledgers {
  engine: Ledger;
  cluster: Ledger;
}

export interface Stats {
  steps: number;
  events: number;
  /** `create_transfers created` → count, per operation and status. */
  statuses: Map<string, number>;
  /** Whole-request rejections both ledgers agreed on, by LedgerError code. */
  rejections: Map<string, number>;
  lookups: number;
  queries: number;
  /** Objects compared (accounts, transfers, balances) that lookups and queries returned. */
  lookupObjects: number;
  queryObjects: number;
  waits: number;
  waitedMs: number;
}

export function emptyStats(): Stats {
  return {
    steps: 0,
    events: 0,
    statuses: new Map(),
    rejections: new Map(),
    lookups: 0,
    queries: 0,
    lookupObjects: 0,
    queryObjects: 0,
    waits: 0,
    waitedMs: 0,
  };
}

const ACCOUNT_NAMES = {
  name: (s: number) => CreateAccountStatus[s] ?? `unknown(${s})`,
  exists: CreateAccountStatus.exists,
  created: CreateAccountStatus.created,
};
const TRANSFER_NAMES = {
  name: (s: number) => CreateTransferStatus[s] ?? `unknown(${s})`,
  exists: CreateTransferStatus.exists,
  created: CreateTransferStatus.created,
};
const RESOLVES = TransferFlags.post_pending_transfer | TransferFlags.void_pending_transfer;

const bump = (counts: Map<string, number>, key: string): void => {
  counts.set(key, (counts.get(key) ?? 0) + 1);
};

async function settle<T>(call: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    if (error instanceof LedgerError)
      return { ok: false, code: error.code, message: error.message };
    // Anything else is a crash of that ledger: a divergence, reported as such.
    return { ok: false, code: 'crash', message: String(error) };
  }
}

export async function runSteps(
  steps: readonly Step[],
  ledgers: Ledgers,
  binding: Binding,
  stats: Stats = emptyStats(),
): Promise<Divergence | null> {
  const run = new Run(ledgers, binding, stats);
  try {
    for (let i = 0; i < steps.length; i++) {
      const divergence = await run.step(steps[i]!, i);
      if (divergence !== null) return divergence;
    }
    return null;
  } finally {
    stats.waits += run.windows.waits;
    stats.waitedMs += run.windows.waitedMs;
  }
}

class Run {
  readonly map = new TimestampMap();
  readonly windows = new ExpiryWindows();

  constructor(
    private readonly ledgers: Ledgers,
    private readonly binding: Binding,
    private readonly stats: Stats,
  ) {}

  async step(step: Step, index: number): Promise<Divergence | null> {
    const created = await this.create(step, index);
    if (created !== null) return created;
    this.stats.steps += 1;
    this.stats.events += step.events.length;
    for (let i = 0; i < step.reads.length; i++) {
      const divergence = await this.read(step.reads[i]!, index, i);
      if (divergence !== null) return divergence;
    }
    return null;
  }

  /** Engine first, then cluster, each awaited. A cluster that does not answer ends the run. */
  private async both<T>(call: (ledger: Ledger, side: Side) => Promise<T>): Promise<Answers<T>> {
    await this.windows.waitClear();
    const startMs = Date.now();
    const engine = await settle(() => call(this.ledgers.engine, 'engine'));
    const cluster = await settle(() => call(this.ledgers.cluster, 'cluster'));
    if (!cluster.ok && cluster.code === 'unavailable') {
      throw new Error(`the TigerBeetle cluster did not answer: ${cluster.message}`);
    }
    const endMs = Date.now();
    const nearExpiry = this.windows.overlaps(startMs, endMs);
    return { engine, cluster, startMs, endMs, nearExpiry };
  }

  private async create(step: Step, index: number): Promise<Divergence | null> {
    const b = this.binding;
    const answers =
      step.op === 'create_accounts'
        ? await this.both((l) => l.createAccounts(step.events.map((a) => bindAccount(a, b))))
        : await this.both((l) => l.createTransfers(step.events.map((t) => bindTransfer(t, b))));
    const names = step.op === 'create_accounts' ? ACCOUNT_NAMES : TRANSFER_NAMES;
    const { engine, cluster, nearExpiry } = answers;
    const diverge = (detail: string): Divergence => ({
      step: index,
      at: 'create',
      operation: step.op,
      detail,
      nearExpiry,
    });
    const detail = compareCreate(engine, cluster, this.map, names);
    if (detail !== null) return diverge(detail);
    if (!engine.ok || !cluster.ok) {
      bump(this.stats.rejections, `${step.op} ${engine.ok ? '' : engine.code}`);
      return null;
    }
    for (let i = 0; i < engine.value.length; i++) {
      const e = engine.value[i]!;
      bump(this.stats.statuses, `${step.op} ${names.name(e.status)}`);
      if (e.status !== names.created) continue;
      const broken = this.map.add(e.timestamp, cluster.value[i]!.timestamp);
      if (broken !== null) return diverge(broken);
      if (step.op === 'create_transfers') {
        this.track(step.events[i]!, answers.startMs, answers.endMs);
      }
    }
    return null;
  }

  /** Short pending transfers open an expiry window; their post or void closes it. */
  private track(t: TransferSpec, w0Ms: number, w1Ms: number): void {
    const short = t.timeout > 0 && t.timeout <= TIMEOUT_SHORT_S_MAX;
    if ((t.flags & TransferFlags.pending) !== 0 && short) {
      this.windows.add(t.id, w0Ms, w1Ms, t.timeout);
    }
    if ((t.flags & RESOLVES) !== 0) this.windows.remove(t.pending);
  }

  private async read(read: Read, step: number, at: number): Promise<Divergence | null> {
    const { kind, answers } = await this.call(read);
    const detail = compareObjects(kind, answers.engine, answers.cluster, this.map);
    if (detail !== null) {
      return { step, at, operation: read.op, detail, nearExpiry: answers.nearExpiry };
    }
    const lookup = read.op === 'lookup_accounts' || read.op === 'lookup_transfers';
    const found = answers.engine.ok ? answers.engine.value.length : 0;
    if (!answers.engine.ok) bump(this.stats.rejections, `${read.op} ${answers.engine.code}`);
    if (lookup) {
      this.stats.lookups += 1;
      this.stats.lookupObjects += found;
    } else {
      this.stats.queries += 1;
      this.stats.queryObjects += found;
    }
    return null;
  }

  private async call(read: Read): Promise<{
    kind: ObjectKind;
    answers: Answers<object[]>;
  }> {
    const b = this.binding;
    // Filter bounds are picked on each side from its own timestamps (./timestamps.ts).
    const ts = (side: Side, f: { timestamp_min: TimestampSpec; timestamp_max: TimestampSpec }) =>
      [this.map.resolve(f.timestamp_min, side), this.map.resolve(f.timestamp_max, side)] as const;
    switch (read.op) {
      case 'lookup_accounts':
      case 'lookup_transfers': {
        const ids = read.ids.map((ref) => bindId(ref, b));
        if (read.op === 'lookup_accounts') {
          return { kind: 'account', answers: await this.both((l) => l.lookupAccounts(ids)) };
        }
        return { kind: 'transfer', answers: await this.both((l) => l.lookupTransfers(ids)) };
      }
      case 'get_account_transfers':
      case 'get_account_balances': {
        const filter = (side: Side) => bindAccountFilter(read.filter, b, ...ts(side, read.filter));
        if (read.op === 'get_account_transfers') {
          const answers = await this.both((l, side) => l.getAccountTransfers(filter(side)));
          return { kind: 'transfer', answers };
        }
        const answers = await this.both((l, side) => l.getAccountBalances(filter(side)));
        return { kind: 'balance', answers };
      }
      case 'query_accounts':
      case 'query_transfers': {
        const filter = (side: Side) => bindQueryFilter(read.filter, b, ...ts(side, read.filter));
        if (read.op === 'query_accounts') {
          return {
            kind: 'account',
            answers: await this.both((l, s) => l.queryAccounts(filter(s))),
          };
        }
        const answers = await this.both((l, side) => l.queryTransfers(filter(side)));
        return { kind: 'transfer', answers };
      }
    }
  }
}
