/**
 * Proves that raw transfer requests (submitRaw) ride the journals' batcher as the issue asks:
 * each raw request stays whole, in order and uninterleaved in one ledger request beside journal
 * chains; each submission gets exactly its own results back, index for index; a raw request
 * answers as it would alone (a failing chain inside it fails alone, an open chain or an imported
 * transfer sends it alone); one that does not fit beside others starts a request of its own; the
 * batch limit, queue limit, drain and deadline hold for it; and the stats count the kinds apart.
 * Against fake ledgers (test/support/ledger/fakes.ts); policy cases on a manual clock.
 */
import { BatcherOverloadedError, TransferBatcher } from '../../../ledger/batcher';
import { rawPlacement } from '../../../ledger/batcher-groups';
import {
  BATCH_EVENTS_MAX,
  type CreateTransferResult,
  CreateTransferStatus,
  LedgerError,
  type Transfer,
  TransferFlags,
} from '../../../ledger/port';
import {
  chain,
  ControlledLedger,
  InstantLedger,
  LinkedLedger,
  ManualClock,
  transfer,
} from '../../support/ledger/fakes';

const { linked, imported } = TransferFlags;
const statuses = (results: readonly CreateTransferResult[]) => results.map((r) => r.status);

/** xorshift32: the same mix on every run; a failure prints its seed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

interface Submission {
  kind: 'journal' | 'raw';
  events: Transfer[];
}

/**
 * Journal chains (linked but the last) and raw requests (closed chains and lone transfers in
 * any mix, never ending linked), ids 1, 2, 3, … across all of them.
 */
function mix(seed: number, count: number, lengthMax: number): Submission[] {
  const next = random(seed);
  let id = 1n;
  const out: Submission[] = [];
  for (let s = 0; s < count; s++) {
    const length = 1 + Math.floor(next() * lengthMax);
    if (next() < 0.5) {
      out.push({ kind: 'journal', events: chain(id, length) });
      id += BigInt(length);
      continue;
    }
    const events: Transfer[] = [];
    for (let i = 0; i < length; i++, id++) {
      const last = i === length - 1;
      events.push(transfer(id, { flags: !last && next() < 0.5 ? linked : 0 }));
    }
    out.push({ kind: 'raw', events });
  }
  return out;
}

function submit(batcher: TransferBatcher, one: Submission): Promise<CreateTransferResult[]> {
  return one.kind === 'raw' ? batcher.submitRaw(one.events) : batcher.submit(one.events);
}

/** Where each event went: [request, index]. */
function located(requests: readonly Transfer[][]): Map<Transfer, [number, number]> {
  const where = new Map<Transfer, [number, number]>();
  requests.forEach((request, r) => request.forEach((event, i) => where.set(event, [r, i])));
  return where;
}

/** Every submission whole, in order, in one request: its events at consecutive indexes. */
function broken(requests: readonly Transfer[][], sent: readonly Submission[]): number[] {
  const where = located(requests);
  return sent.flatMap((one, s) => {
    const [request, index] = where.get(one.events[0]!) ?? [-1, -1];
    const whole = one.events.every((event, i) => {
      const at = where.get(event);
      return at !== undefined && at[0] === request && at[1] === index + i;
    });
    return whole ? [] : [s];
  });
}

describe('raw requests beside journals', () => {
  test.each([1, 7, 42, 2024])(
    'seed %i: every submission whole in one request, its own results back',
    async (seed) => {
      const ledger = new InstantLedger(1);
      const batcher = new TransferBatcher(ledger, { flushDelayMs: 1, queueEventsMax: 400_000 });
      const sent = mix(seed, 3_000, 120);
      const results = await Promise.all(sent.map((one) => submit(batcher, one)));
      // InstantLedger echoes each event's id as its timestamp: each slice is its own events'.
      const mismatched = sent.filter(
        (one, s) =>
          results[s]!.map((r) => r.timestamp).join() !== one.events.map((e) => e.id).join(),
      );
      expect({ seed, mismatched: mismatched.length }).toEqual({ seed, mismatched: 0 });
      expect({ seed, broken: broken(ledger.requests, sent) }).toEqual({ seed, broken: [] });
      for (const request of ledger.requests)
        expect(request.length).toBeLessThanOrEqual(BATCH_EVENTS_MAX);
      const total = sent.reduce((sum, one) => sum + one.events.length, 0);
      expect(ledger.requests.flat()).toHaveLength(total);
      // They shared requests: some request carries both kinds.
      const raw = new Set(sent.filter((one) => one.kind === 'raw').flatMap((one) => one.events));
      const shared = ledger.requests.filter(
        (request) => request.some((e) => raw.has(e)) && request.some((e) => !raw.has(e)),
      );
      expect(shared.length).toBeGreaterThan(0);
    },
  );

  test('raw requests and journals of one turn go out as one request', async () => {
    const ledger = new InstantLedger();
    const batcher = new TransferBatcher(ledger, { flushDelayMs: 1 });
    const journal = chain(1n, 2);
    const raw = [transfer(3n, { flags: linked }), transfer(4n), transfer(5n)];
    const [a, b, c] = await Promise.all([
      batcher.submit(journal),
      batcher.submitRaw(raw),
      batcher.submit(chain(6n, 3)),
    ]);
    expect(ledger.requests.map((r) => r.map((e) => e.id))).toEqual([
      [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n],
    ]);
    expect([a, b, c].map((r) => r!.map((x) => x.timestamp))).toEqual([
      [1n, 2n],
      [3n, 4n, 5n],
      [6n, 7n, 8n],
    ]);
    expect(batcher.stats.byKind).toMatchObject({
      journal: { chains: 2, events: 5 },
      raw: { chains: 1, events: 3 },
    });
    expect(batcher.stats).toMatchObject({ requests: 1, chains: 3, events: 8 });
  });

  test('a failing chain inside a raw request fails alone: the answer it would get alone', async () => {
    const open = (ledger: LinkedLedger) => {
      ledger.open(1n, { capped: true, credits: 100n });
      ledger.open(2n);
      ledger.open(3n);
    };
    const raw = [
      transfer(20n, { debit_account_id: 3n, amount: 5n }),
      transfer(21n, { debit_account_id: 3n, amount: 5n, flags: linked }),
      transfer(22n, { debit_account_id: 1n, amount: 1_000n, flags: linked }),
      transfer(23n, { debit_account_id: 3n, amount: 5n }),
      transfer(24n, { debit_account_id: 1n, amount: 10n }),
    ];
    const alone = new LinkedLedger();
    open(alone);
    const expected = statuses(await alone.createTransfers(raw));

    const ledger = new LinkedLedger();
    open(ledger);
    const batcher = new TransferBatcher(ledger, { flushDelayMs: 1 });
    const before = chain(10n, 2, { debit_account_id: 1n, amount: 30n });
    const after = chain(30n, 2, { debit_account_id: 1n, amount: 10n });
    const [rBefore, rRaw, rAfter] = await Promise.all([
      batcher.submit(before),
      batcher.submitRaw(raw),
      batcher.submit(after),
    ]);
    expect(ledger.requests).toHaveLength(1);
    const { created, linked_event_failed, exceeds_credits } = CreateTransferStatus;
    expect(statuses(rRaw!)).toEqual(expected);
    expect(expected).toEqual([
      created,
      linked_event_failed,
      exceeds_credits,
      linked_event_failed,
      created,
    ]);
    expect(statuses(rBefore!)).toEqual([created, created]);
    expect(statuses(rAfter!)).toEqual([created, created]);
  });
});

describe('raw requests that go alone', () => {
  test.each([
    ['an open chain at its end', 'alone', [transfer(1n), transfer(2n, { flags: linked })]],
    ['an imported transfer', 'alone', [transfer(1n), transfer(2n, { flags: imported })]],
    ['closed chains and lone transfers', 'shared', [transfer(1n, { flags: linked }), transfer(2n)]],
  ])('a raw request with %s goes %s', (_what, placement, events) => {
    expect(rawPlacement(events)).toBe(placement);
  });

  test('an open chain goes in a request of its own and answers linked_event_chain_open', async () => {
    const ledger = new LinkedLedger();
    ledger.open(1n);
    ledger.open(2n);
    const batcher = new TransferBatcher(ledger, { flushDelayMs: 1 });
    const open = [transfer(10n), transfer(11n, { flags: linked })];
    const [a, raw, b] = await Promise.all([
      batcher.submit(chain(1n, 2)),
      batcher.submitRaw(open),
      batcher.submit(chain(20n, 2)),
    ]);
    // Beside them, its open link would have swallowed the next journal.
    expect(ledger.requests.map((r) => r.map((e) => e.id))).toEqual([
      [1n, 2n],
      [10n, 11n],
      [20n, 21n],
    ]);
    const { created, linked_event_chain_open } = CreateTransferStatus;
    expect(statuses(raw!)).toEqual([created, linked_event_chain_open]);
    expect(statuses(a!)).toEqual([created, created]);
    expect(statuses(b!)).toEqual([created, created]);
  });

  test('an importing request is first and alone in its request', async () => {
    const ledger = new InstantLedger();
    const batcher = new TransferBatcher(ledger, { flushDelayMs: 1 });
    const importing = [transfer(10n, { flags: imported, timestamp: 5n }), transfer(11n)];
    await Promise.all([
      batcher.submit(chain(1n, 1)),
      batcher.submitRaw(importing),
      batcher.submitRaw([transfer(20n)]),
    ]);
    expect(ledger.requests.map((r) => r.map((e) => e.id))).toEqual([[1n], [10n, 11n], [20n]]);
  });
});

describe('size, limits and failures', () => {
  test('a raw request that does not fit beside the open batch starts a request of its own', async () => {
    const clock = new ManualClock();
    const ledger = new ControlledLedger();
    const batcher = new TransferBatcher(ledger, { flushDelayMs: 1, batchEventsMax: 10, clock });
    const a = batcher.submit(chain(1n, 4));
    const raw = batcher.submitRaw(chain(5n, 8));
    const b = batcher.submit(chain(13n, 2));
    clock.runImmediates();
    // The journal before it went as it was; the journal after it joined the raw request.
    expect(ledger.requests.map((r) => r.map((e) => e.id))).toEqual([
      [1n, 2n, 3n, 4n],
      [5n, 6n, 7n, 8n, 9n, 10n, 11n, 12n, 13n, 14n],
    ]);
    ledger.answer(0);
    ledger.answer(0);
    expect((await raw).map((r) => r.timestamp)).toEqual([5n, 6n, 7n, 8n, 9n, 10n, 11n, 12n]);
    expect((await a).map((r) => r.timestamp)).toEqual([1n, 2n, 3n, 4n]);
    expect((await b).map((r) => r.timestamp)).toEqual([13n, 14n]);
  });

  test('a full-size raw request goes alone; a larger one is refused as too much data', async () => {
    const ledger = new InstantLedger();
    const batcher = new TransferBatcher(ledger, { flushDelayMs: 1 });
    const lone = [transfer(1n)];
    const full = Array.from({ length: BATCH_EVENTS_MAX }, (_, i) => transfer(100n + BigInt(i)));
    const tooBig = [...full, transfer(99_999n)];
    const refused = batcher.submitRaw(tooBig);
    const [r1, r2] = await Promise.all([batcher.submitRaw(lone), batcher.submitRaw(full)]);
    await expect(refused).rejects.toMatchObject({ name: 'LedgerError', code: 'too_much_data' });
    expect(ledger.requests.map((r) => r.length)).toEqual([1, BATCH_EVENTS_MAX]);
    expect(r1).toHaveLength(1);
    expect(r2!.map((r) => r.timestamp)).toEqual(full.map((e) => e.id));
    expect(batcher.stats.byKind.raw).toMatchObject({ chains: 2, rejectedInvalid: 1 });
    expect(batcher.stats.byKind.journal.rejectedInvalid).toBe(0);
  });

  test('the queue limit, wire checks and drain refuse raw requests as they do journals', async () => {
    const clock = new ManualClock();
    const ledger = new ControlledLedger();
    const batcher = new TransferBatcher(ledger, {
      flushDelayMs: 1,
      batchEventsMax: 10,
      queueEventsMax: 12,
      clock,
    });
    // Nine queued, unsent (the manual clock runs no immediate): four more would pass twelve.
    void batcher.submit(chain(1n, 9));
    const overloaded = batcher.submitRaw(chain(20n, 4));
    await expect(overloaded).rejects.toBeInstanceOf(BatcherOverloadedError);
    const bad = [transfer(30n), transfer(31n, { amount: 1n << 128n })];
    const invalid = batcher.submitRaw(bad);
    await expect(invalid).rejects.toBeInstanceOf(LedgerError);
    await expect(invalid).rejects.toMatchObject({ code: 'invalid_event', eventIndex: 1 });
    expect(() => batcher.submitRaw([])).toThrow(/submitRaw/);
    const drained = batcher.drain();
    await expect(batcher.submitRaw([transfer(40n)])).rejects.toMatchObject({ code: 'draining' });
    ledger.answer(0);
    await drained;
    expect(batcher.stats.byKind.raw).toMatchObject({
      chains: 0,
      rejectedOverloaded: 1,
      rejectedInvalid: 1,
      rejectedDraining: 1,
    });
    expect(batcher.stats.byKind.journal).toMatchObject({ chains: 1, events: 9 });
  });

  test('a failed or timed-out request fails its raw requests too, counted by kind', async () => {
    const clock = new ManualClock();
    const ledger = new ControlledLedger();
    const batcher = new TransferBatcher(ledger, { flushDelayMs: 1, chainTimeoutMs: 100, clock });
    const outcome = (p: Promise<unknown>) =>
      p.then(
        () => 'answered',
        (e: LedgerError) => e.code,
      );
    const first = [
      outcome(batcher.submitRaw([transfer(1n)])),
      outcome(batcher.submit(chain(2n, 2))),
    ];
    clock.runImmediates();
    ledger.fail(0, new LedgerError('unavailable', 'down'));
    expect(await Promise.all(first)).toEqual(['unavailable', 'unavailable']);
    const late = outcome(batcher.submitRaw(chain(10n, 2)));
    clock.runImmediates();
    clock.advance(100);
    expect(await late).toBe('unavailable');
    expect(batcher.stats.requestsFailed).toBe(1);
    expect(batcher.stats.byKind.raw.chainsTimedOut).toBe(1);
    expect(batcher.stats.byKind.journal.chainsTimedOut).toBe(0);
  });
});
