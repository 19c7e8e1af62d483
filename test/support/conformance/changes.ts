/**
 * The change-feed conformance scenario: one sequence of calls through the Ledger port that makes
 * every kind of change event TigerBeetle records (single-phase, pending, a partial post, a void,
 * a balancing transfer clamped, closing transfers voided and expired, two timeouts expiring, a
 * failed linked chain that must leave none), and the means to compare the events two ledgers
 * recorded for it: ids become the scenario's names, timestamps their rank among the run's own
 * timestamps (two ledgers never share a clock; they must agree on the order).
 *
 * Accounts and transfers get fresh time-ordered ids, so the scenario runs on the shared cluster
 * and its events can be told apart from everyone else's by account id.
 */
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { type ChangeAccount, decodeChange, type LedgerChange } from '../../../events/change';
import {
  type Account,
  AccountFlags as AF,
  type Ledger,
  type Transfer,
  TransferFlags as F,
  U128_MAX,
} from '../../../ledger/port';
import { account, id, resolve, sleepMs, transfer, transferStatusName } from './fixtures';

/** What the scenario made, by name: accounts A..E, transfers t1.. in the order sent. */
export interface ScenarioRun {
  accountIds: Set<bigint>;
  names: Map<bigint, string>;
}

/** A pending transfer's timeout (s), and how long the scenario waits for it to expire (ms). */
export const EXPIRY_TIMEOUT_S = 1;
export const EXPIRY_WAIT_MS = 2_200;

const LEDGER = 702;

/** Runs the scenario; every call must answer as TigerBeetle does or the scenario throws. */
export async function runChangeScenario(ledger: Ledger): Promise<ScenarioRun> {
  const names = new Map<bigint, string>();
  const accounts: Record<'A' | 'B' | 'C' | 'D' | 'E', Account> = {
    A: account({ ledger: LEDGER, code: 10, user_data_128: 1n << 100n, user_data_64: 64n }),
    B: account({ ledger: LEDGER, code: 11, flags: AF.history, user_data_32: 32 }),
    C: account({ ledger: LEDGER, code: 12, flags: AF.debits_must_not_exceed_credits }),
    D: account({ ledger: LEDGER, code: 13 }),
    E: account({ ledger: LEDGER, code: 14 }),
  };
  for (const [name, a] of Object.entries(accounts)) names.set(a.id, name);
  const created = await ledger.createAccounts(Object.values(accounts));
  if (created.some((r) => r.status !== 0xffff_ffff)) throw new Error('accounts not created');
  const { A, B, C, D, E } = accounts;
  let n = 0;
  const t = (over: Partial<Transfer>): Transfer => {
    const made = transfer({ id: id(), ledger: LEDGER, code: 1, ...over });
    names.set(made.id, `t${++n}`);
    return made;
  };
  const post = (p: Transfer, over: Partial<Transfer>): Transfer =>
    t({ ...resolve('post', p.id, over), id: id() });
  const voidOf = (p: Transfer): Transfer => t({ ...resolve('void', p.id), id: id() });
  const send = async (batch: Transfer[], expected: string[]): Promise<void> => {
    const results = await ledger.createTransfers(batch);
    const got = results.map((r) => transferStatusName(r.status));
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      throw new Error(`expected ${expected.join(',')}, got ${got.join(',')}`);
    }
  };
  const dr = (a: Account, c: Account) => ({ debit_account_id: a.id, credit_account_id: c.id });

  await send([t({ ...dr(A, B), amount: 100n, user_data_128: 5n, user_data_64: 6n })], ['created']);
  // A chain whose second transfer fails: neither leaves an event.
  await send(
    [t({ ...dr(A, B), amount: 5n, flags: F.linked }), t({ ...dr(C, A), amount: 1_000n })],
    ['linked_event_failed', 'exceeds_credits'],
  );
  const held = t({ ...dr(A, B), amount: 50n, flags: F.pending, user_data_32: 9 });
  await send([held], ['created']);
  await send([post(held, { amount: 30n })], ['created']);
  const voided = t({ ...dr(B, A), amount: 20n, flags: F.pending });
  await send([voided, voidOf(voided)], ['created', 'created']);
  await send([t({ ...dr(A, C), amount: 40n })], ['created']);
  // A balancing debit of 1,000 from C, which may not go below zero: 40 moves.
  await send([t({ ...dr(C, B), amount: 1_000n, flags: F.balancing_debit })], ['created']);
  await send([t({ ...dr(D, E), amount: 25n })], ['created']);
  const closing = t({ ...dr(D, E), amount: 0n, flags: F.pending | F.closing_credit });
  await send([closing], ['created']);
  await send([voidOf(closing)], ['created']);
  // Two holds that time out: one of them closes D until it expires.
  await send(
    [
      t({ ...dr(A, B), amount: 7n, flags: F.pending, timeout: EXPIRY_TIMEOUT_S }),
      t({ ...dr(D, E), amount: 3n, flags: F.pending | F.closing_debit, timeout: EXPIRY_TIMEOUT_S }),
    ],
    ['created', 'created'],
  );
  await sleepMs(EXPIRY_WAIT_MS);
  // After the expiries: D is open again, and a post of the whole amount of a fresh hold.
  const last = t({ ...dr(A, D), amount: 2n, flags: F.pending });
  await send([last, post(last, { amount: U128_MAX })], ['created', 'created']);
  return { accountIds: new Set(Object.values(accounts).map((a) => a.id)), names };
}

/** The events that touch the scenario's accounts, in timestamp order. */
export function ofScenario(events: LedgerChange[], run: ScenarioRun): LedgerChange[] {
  return events
    .filter((e) => run.accountIds.has(e.debitAccount.id) || run.accountIds.has(e.creditAccount.id))
    .sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
}

/** Ids as the scenario's names, timestamps as their rank: what two ledgers must agree on. */
export function normalizeChanges(events: LedgerChange[], run: ScenarioRun): unknown[] {
  const stamps = new Set<bigint>();
  for (const e of events) {
    for (const s of [e.timestamp, e.transfer.timestamp, e.debitAccount.timestamp]) stamps.add(s);
    stamps.add(e.creditAccount.timestamp);
  }
  const order = [...stamps].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const rank = (s: bigint): string => `#${order.indexOf(s)}`;
  const name = (value: bigint): string =>
    value === 0n ? '0' : (run.names.get(value) ?? `foreign ${value}`);
  const side = (a: ChangeAccount) => ({ ...a, id: name(a.id), timestamp: rank(a.timestamp) });
  return events.map((e) => ({
    at: rank(e.timestamp),
    type: e.type,
    ledger: e.ledger,
    transfer: {
      ...e.transfer,
      id: name(e.transfer.id),
      pendingId: name(e.transfer.pendingId),
      timestamp: rank(e.transfer.timestamp),
    },
    debitAccount: side(e.debitAccount),
    creditAccount: side(e.creditAccount),
  }));
}

/**
 * A temporary exclusive queue bound to `exchange` (fanout: every message), collecting what
 * arrives from the moment `open` resolves: bind it before the calls whose events it must see.
 */
export class ExchangeTap {
  readonly messages: { body: Buffer; properties: amqp.MessageProperties }[] = [];

  private constructor(
    private readonly connection: ChannelModel,
    private readonly channel: Channel,
  ) {}

  static async open(url: string, exchange: string): Promise<ExchangeTap> {
    const connection = await amqp.connect(url, { timeout: 5_000 });
    const channel = await connection.createChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.bindQueue(queue, exchange, '');
    const tap = new ExchangeTap(connection, channel);
    await channel.consume(
      queue,
      (message) => {
        if (message !== null) {
          tap.messages.push({ body: message.content, properties: message.properties });
        }
      },
      { noAck: true },
    );
    return tap;
  }

  /** The decoded events that touch `run`'s accounts. */
  changes(run: ScenarioRun): LedgerChange[] {
    return ofScenario(
      this.messages.map((m) => decodeChange(m.body)),
      run,
    );
  }

  /** Waits until `count` of `run`'s events arrived, then `quietMs` more for any extra. */
  async waitFor(run: ScenarioRun, count: number, timeoutMs: number, quietMs = 1_000) {
    const deadline = Date.now() + timeoutMs;
    while (this.changes(run).length < count && Date.now() < deadline) await sleepMs(50);
    await sleepMs(quietMs);
    return this.changes(run);
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}
