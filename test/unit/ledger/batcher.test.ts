/**
 * Proves the micro-batcher's contract against fake ledgers: concurrent chains coalesce into few
 * requests, a chain is never split (also at the 8189 boundary), the flush policy (idle → next
 * macrotask, partly busy → flushDelayMs, all busy → next free slot, full → at once), that a bad
 * or failing chain fails alone while a failed request fails exactly its own chains, the result
 * count invariant, backpressure, chain deadlines and drain. Policy tests run on a manual clock, so
 * they are exact.
 */
import {
  BatcherDrainingError,
  BatcherError,
  BatcherOverloadedError,
  LedgerInvariantError,
  TransferBatcher,
  type TransferBatcherOptions,
} from '../../../ledger/batcher';
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
  settle,
  transfer,
} from '../../support/ledger/fakes';

/** Deterministic lengths for the boundary tests (xorshift32). */
function lengths(seed: number, count: number, max: number): number[] {
  let state = seed;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out.push(((state >>> 0) % max) + 1);
  }
  return out;
}

/** Chains of the given lengths with ids 1, 2, 3, ... across them. */
function chains(lengthList: readonly number[]): Transfer[][] {
  let id = 1n;
  return lengthList.map((length) => {
    const made = chain(id, length);
    id += BigInt(length);
    return made;
  });
}

/** Every request within the limit, and every chain whole, in order, in exactly one request. */
function expectChainsIntact(requests: Transfer[][], sent: Transfer[][], max: number): void {
  const where = new Map<Transfer, [number, number]>();
  requests.forEach((request, r) => {
    expect(request.length).toBeLessThanOrEqual(max);
    request.forEach((event, i) => where.set(event, [r, i]));
  });
  // Plain comparisons, one expect: ~180,000 events.
  const broken: number[] = [];
  sent.forEach((one, c) => {
    const [request, index] = where.get(one[0]!) ?? [-1, -1];
    one.forEach((event, i) => {
      const at = where.get(event);
      if (at === undefined || at[0] !== request || at[1] !== index + i) broken.push(c);
    });
  });
  expect(broken).toEqual([]);
  expect(where.size).toBe(sent.reduce((sum, one) => sum + one.length, 0));
}

function expectEchoed(results: CreateTransferResult[], sent: readonly Transfer[]): void {
  expect(results.map((result) => result.timestamp)).toEqual(sent.map((event) => event.id));
}

describe('coalescing', () => {
  test('1,000 chains submitted in one turn go out as one request', async () => {
    const ledger = new InstantLedger();
    const batcher = new TransferBatcher(ledger, { flushDelayMs: 1 });
    const sent = chains(lengths(7, 1_000, 4));
    const results = await Promise.all(sent.map((one) => batcher.submit(one)));
    expect(ledger.requests).toHaveLength(1);
    sent.forEach((one, i) => expectEchoed(results[i]!, one));
    expect(batcher.stats).toMatchObject({ requests: 1, chains: 1_000, queuedEvents: 0 });
  });

  test('a steady stream against a slow ledger coalesces into few, large requests', async () => {
    const ledger = new InstantLedger(5);
    const batcher = new TransferBatcher(ledger, { flushDelayMs: 1 });
    const pending: Array<Promise<CreateTransferResult[]>> = [];
    let id = 1n;
    for (let tick = 0; tick < 50; tick++) {
      for (let i = 0; i < 40; i++, id += 2n) pending.push(batcher.submit(chain(id, 2)));
      await new Promise((resolve) => setTimeout(resolve, 0.5));
    }
    await Promise.all(pending);
    expect(ledger.requests.length).toBeLessThan(pending.length / 10);
    expect(ledger.inflightLargest).toBeLessThanOrEqual(2);
  });

  test('chains of varying length never split at the 8189 boundary', async () => {
    const ledger = new InstantLedger(1);
    // ~180,000 transfers at once: the queue must hold them all.
    const batcher = new TransferBatcher(ledger, { flushDelayMs: 1, queueEventsMax: 200_000 });
    const sent = chains(lengths(42, 6_000, 60));
    const results = await Promise.all(sent.map((one) => batcher.submit(one)));
    sent.forEach((one, i) => expectEchoed(results[i]!, one));
    expectChainsIntact(ledger.requests, sent, BATCH_EVENTS_MAX);
    expect(ledger.requests.length).toBeGreaterThan(10);
    // Sealed when the next chain does not fit: each request is within one chain of the limit.
    for (const request of ledger.requests.slice(0, -1)) {
      expect(request.length).toBeGreaterThan(BATCH_EVENTS_MAX - 60);
    }
  });

  test('a chain of exactly 8189 goes alone, one of 8190 is refused', async () => {
    const ledger = new InstantLedger();
    const batcher = new TransferBatcher(ledger, { flushDelayMs: 1 });
    const small = batcher.submit(chain(1n, 3));
    const full = batcher.submit(chain(100n, BATCH_EVENTS_MAX));
    const tooLong = batcher.submit(chain(100_000n, BATCH_EVENTS_MAX + 1));
    await expect(tooLong).rejects.toMatchObject({ name: 'LedgerError', code: 'too_much_data' });
    expect((await full).length).toBe(BATCH_EVENTS_MAX);
    expect((await small).length).toBe(3);
    expect(ledger.requests.map((request) => request.length)).toEqual([3, BATCH_EVENTS_MAX]);
  });
});

describe('flush policy (manual clock)', () => {
  function setup(options: Partial<TransferBatcherOptions> = {}) {
    const clock = new ManualClock();
    const ledger = new ControlledLedger();
    const batcher = new TransferBatcher(ledger, { flushDelayMs: 2, clock, ...options });
    return { clock, ledger, batcher };
  }

  test('idle ledger: a lone chain goes on the next macrotask, with no timer', async () => {
    const { clock, ledger, batcher } = setup();
    const done = batcher.submit(chain(1n, 2));
    batcher.submit(chain(3n, 1)).catch(() => {});
    expect(ledger.requests).toHaveLength(0);
    expect(clock.runImmediates()).toBe(1);
    expect(ledger.requests.map((request) => request.length)).toEqual([3]);
    expect(clock.timersPending).toBe(0);
    ledger.answer();
    expectEchoed(await done, chain(1n, 2));
  });

  test('one request in flight, a slot free: a partial batch waits flushDelayMs', () => {
    const { clock, ledger, batcher } = setup();
    batcher.submit(chain(1n, 1));
    clock.runImmediates();
    batcher.submit(chain(2n, 1));
    clock.runImmediates();
    expect(ledger.requests).toHaveLength(1);
    clock.advance(1.9);
    batcher.submit(chain(3n, 1));
    expect(ledger.requests).toHaveLength(1);
    clock.advance(0.1);
    clock.runImmediates();
    expect(ledger.requests.map((request) => request.map((event) => event.id))).toEqual([
      [1n],
      [2n, 3n],
    ]);
  });

  test('one request in flight: the batch goes at once when the ledger goes idle', async () => {
    const { clock, ledger, batcher } = setup({ flushDelayMs: 50 });
    batcher.submit(chain(1n, 1));
    clock.runImmediates();
    batcher.submit(chain(2n, 1));
    ledger.answer();
    await settle();
    clock.runImmediates();
    expect(ledger.requests).toHaveLength(2);
  });

  test('every slot busy: the batch grows until a slot frees, then goes at once', async () => {
    const { clock, ledger, batcher } = setup({ inflightMax: 2 });
    batcher.submit(chain(1n, 1));
    clock.runImmediates();
    clock.advance(1);
    batcher.submit(chain(2n, 1));
    clock.advance(2);
    clock.runImmediates();
    expect(ledger.requests).toHaveLength(2);
    for (let id = 3n; id < 103n; id++) batcher.submit(chain(id, 1));
    clock.advance(100);
    clock.runImmediates();
    expect(clock.timersPending + clock.immediatesPending).toBe(0);
    expect(ledger.requests).toHaveLength(2);
    ledger.answer();
    await settle();
    // Waited 100 ms (≥ flushDelayMs): sent from the completion itself, no timer needed.
    expect(ledger.requests.map((request) => request.length)).toEqual([1, 1, 100]);
  });

  test('a full batch goes at once, inside submit', () => {
    const { ledger, batcher } = setup({ batchEventsMax: 10 });
    batcher.submit(chain(1n, 4));
    batcher.submit(chain(5n, 6));
    expect(ledger.requests.map((request) => request.length)).toEqual([10]);
  });

  test('a chain that does not fit seals the batch, which then waits for a slot', async () => {
    const { clock, ledger, batcher } = setup({ batchEventsMax: 10, inflightMax: 1 });
    batcher.submit(chain(1n, 1));
    clock.runImmediates();
    batcher.submit(chain(2n, 7));
    batcher.submit(chain(9n, 5));
    batcher.submit(chain(14n, 3));
    expect(ledger.requests).toHaveLength(1);
    ledger.answer();
    await settle();
    expect(ledger.requests.map((request) => request.length)).toEqual([1, 7]);
    ledger.answer();
    await settle();
    clock.runImmediates();
    expect(ledger.requests.map((request) => request.length)).toEqual([1, 7, 8]);
  });

  test('flushDelayMs 0: a free slot sends on the next macrotask, never by timer', () => {
    const { clock, ledger, batcher } = setup({ flushDelayMs: 0 });
    batcher.submit(chain(1n, 1));
    clock.runImmediates();
    batcher.submit(chain(2n, 1));
    expect(clock.timersPending).toBe(0);
    clock.runImmediates();
    expect(ledger.requests).toHaveLength(2);
  });
});

describe('isolation', () => {
  test('a linked chain that fails in the ledger fails alone; its neighbours post', async () => {
    const ledger = new LinkedLedger();
    ledger.open(1n, { capped: true, credits: 100n });
    ledger.open(2n);
    ledger.open(3n);
    const batcher = new TransferBatcher(ledger, { flushDelayMs: 1 });
    const ok1 = chain(10n, 2, { debit_account_id: 1n, amount: 30n });
    const bad = [
      transfer(20n, { debit_account_id: 3n, amount: 5n, flags: TransferFlags.linked }),
      transfer(21n, { debit_account_id: 1n, amount: 1_000n, flags: TransferFlags.linked }),
      transfer(22n, { debit_account_id: 3n, amount: 5n }),
    ];
    const ok2 = chain(30n, 3, { debit_account_id: 1n, amount: 10n });
    const [r1, rBad, r2] = await Promise.all([ok1, bad, ok2].map((one) => batcher.submit(one)));
    expect(ledger.requests).toHaveLength(1);
    const statuses = (results: CreateTransferResult[]) => results.map((result) => result.status);
    const { created, linked_event_failed, exceeds_credits } = CreateTransferStatus;
    expect(statuses(r1!)).toEqual([created, created]);
    expect(statuses(rBad!)).toEqual([linked_event_failed, exceeds_credits, linked_event_failed]);
    expect(statuses(r2!)).toEqual([created, created, created]);
    // The failed chain left no trace: account 3 only received the good chains' credits.
    expect(ledger.balance(1n).debits).toBe(90n);
    expect(ledger.balance(3n)).toEqual({ debits: 0n, credits: 0n });
  });

  test.each([
    ['an amount above u128', { amount: 1n << 128n }],
    ['a negative id', { id: -1n }],
    ['a fractional ledger', { ledger: 1.5 }],
    ['a number where a bigint goes', { user_data_64: 7 as unknown as bigint }],
  ])('a chain with %s is refused alone, before any request', async (_what, fields) => {
    const ledger = new InstantLedger();
    const batcher = new TransferBatcher(ledger, { flushDelayMs: 1 });
    const good = batcher.submit(chain(1n, 2));
    const badChain = chain(10n, 3);
    badChain[1] = { ...badChain[1]!, ...fields };
    const bad = batcher.submit(badChain);
    await expect(bad).rejects.toBeInstanceOf(LedgerError);
    await expect(bad).rejects.toMatchObject({ code: 'invalid_event', eventIndex: 1 });
    expect((await good).length).toBe(2);
    expect(ledger.requests).toEqual([chain(1n, 2)]);
    expect(batcher.stats.rejectedInvalid).toBe(1);
  });

  test.each([
    ['an empty chain', []],
    [
      'a missing link in the middle',
      [transfer(1n, { flags: TransferFlags.linked }), transfer(2n), transfer(3n)],
    ],
    ['a last transfer still linked', chain(1n, 2, { flags: TransferFlags.linked })],
    ['a lone linked transfer', [transfer(1n, { flags: TransferFlags.linked })]],
  ])('%s is a programming error: submit throws', (_what, malformed) => {
    const ledger = new InstantLedger();
    const batcher = new TransferBatcher(ledger, { flushDelayMs: 1 });
    expect(() => batcher.submit(malformed)).toThrow(/TransferBatcher\.submit/);
    expect(batcher.stats.queuedEvents).toBe(0);
  });

  test('a whole-request failure rejects exactly that request’s chains', async () => {
    const clock = new ManualClock();
    const ledger = new ControlledLedger();
    const batcher = new TransferBatcher(ledger, { flushDelayMs: 1, batchEventsMax: 6, clock });
    const sent = chains([2, 3, 1, 4, 2]);
    const outcomes = sent.map((one) =>
      batcher.submit(one).then(
        (results) => ({ results }),
        (error: unknown) => ({ error }),
      ),
    );
    clock.runImmediates();
    expect(ledger.requests.map((request) => request.length)).toEqual([6, 6]);
    const unavailable = new LedgerError('unavailable', 'no answer within 5000 ms');
    ledger.fail(0, unavailable);
    ledger.answer(0);
    const settled = await Promise.all(outcomes);
    expect(settled.slice(0, 3)).toEqual([
      { error: unavailable },
      { error: unavailable },
      { error: unavailable },
    ]);
    settled.slice(3).forEach((outcome, i) => {
      expect(outcome).toHaveProperty('results');
      expectEchoed((outcome as { results: CreateTransferResult[] }).results, sent[3 + i]!);
    });
    expect(batcher.stats.requestsFailed).toBe(1);
  });

  test('a ledger that throws instead of rejecting fails that request’s chains', async () => {
    const ledger = new InstantLedger();
    ledger.createTransfers = () => {
      throw new LedgerError('closed', 'create_transfers: the ledger is closed');
    };
    const batcher = new TransferBatcher(ledger, { flushDelayMs: 1 });
    await expect(batcher.submit(chain(1n, 2))).rejects.toMatchObject({ code: 'closed' });
  });

  test('too few results from the ledger: every chain of that request rejects loudly', async () => {
    const clock = new ManualClock();
    const ledger = new ControlledLedger();
    const batcher = new TransferBatcher(ledger, { flushDelayMs: 1, batchEventsMax: 4, clock });
    const outcomes = chains([2, 2, 4]).map((one) =>
      batcher.submit(one).then(
        () => 'resolved',
        (error: unknown) => error,
      ),
    );
    clock.runImmediates();
    const [first] = ledger.pending;
    ledger.answerWith(0, [{ timestamp: 1n, status: CreateTransferStatus.created }]);
    expect(first!.batch).toHaveLength(4);
    ledger.answer(0);
    const [a, b, c] = await Promise.all(outcomes);
    expect(a).toBeInstanceOf(LedgerInvariantError);
    expect(b).toBe(a);
    expect((a as Error).message).toMatch(/answered 1 results for a request of 4 transfers/);
    expect(c).toBe('resolved');
  });
});

describe('backpressure', () => {
  test('past queueEventsMax submit rejects at once with code overloaded, then recovers', async () => {
    const clock = new ManualClock();
    const ledger = new ControlledLedger();
    const batcher = new TransferBatcher(ledger, {
      flushDelayMs: 1,
      batchEventsMax: 10,
      inflightMax: 1,
      queueEventsMax: 20,
      clock,
    });
    const accepted = [batcher.submit(chain(1n, 10))]; // sent at once: not queued
    for (let id = 100n; id < 120n; id += 5n) accepted.push(batcher.submit(chain(id, 5)));
    expect(batcher.stats).toMatchObject({ inflight: 1, queuedEvents: 20 });
    const refused = batcher.submit(chain(200n, 1));
    await expect(refused).rejects.toBeInstanceOf(BatcherOverloadedError);
    await expect(refused).rejects.toMatchObject({
      code: 'overloaded',
      queuedEvents: 20,
      queueEventsMax: 20,
    });
    expect(batcher.stats.rejectedOverloaded).toBe(1);
    ledger.answer();
    await settle();
    expect(batcher.stats.queuedEvents).toBe(10);
    const admitted = batcher.submit(chain(300n, 10));
    while (ledger.pending.length > 0) {
      ledger.answer();
      await settle();
      clock.runImmediates();
    }
    await Promise.all([...accepted, admitted]);
  });

  test('options are checked: a chain the batch takes must fit the queue', () => {
    const ledger = new InstantLedger();
    const make = (options: Partial<TransferBatcherOptions>) => () =>
      new TransferBatcher(ledger, { flushDelayMs: 1, ...options });
    expect(make({ batchEventsMax: BATCH_EVENTS_MAX + 1 })).toThrow(RangeError);
    expect(make({ batchEventsMax: 100, queueEventsMax: 99 })).toThrow(RangeError);
    expect(make({ inflightMax: 0 })).toThrow(RangeError);
    expect(make({ flushDelayMs: -1 })).toThrow(RangeError);
    expect(make({ flushDelayMs: Number.NaN })).toThrow(RangeError);
    expect(make({ batchEventsMax: 100, queueEventsMax: 100, inflightMax: 4 })).not.toThrow();
  });
});

describe('chain deadline (chainTimeoutMs, manual clock)', () => {
  function setup() {
    const clock = new ManualClock();
    const ledger = new ControlledLedger();
    const batcher = new TransferBatcher(ledger, {
      flushDelayMs: 1,
      inflightMax: 1,
      chainTimeoutMs: 1_000,
      clock,
    });
    return { clock, ledger, batcher };
  }

  async function outcome(promise: Promise<unknown>): Promise<string> {
    return promise.then(
      () => 'answered',
      (error: unknown) => (error instanceof LedgerError ? error.code : String(error)),
    );
  }

  test('a stuck request and the chains queued behind it answer unavailable at 1x the timeout', async () => {
    const { clock, ledger, batcher } = setup();
    const first = outcome(batcher.submit(chain(1n, 1)));
    clock.runImmediates();
    clock.advance(400);
    const queued = outcome(batcher.submit(chain(2n, 1)));
    clock.advance(599);
    await settle();
    expect(batcher.stats.chainsTimedOut).toBe(0);
    clock.advance(1);
    await settle();
    expect(await first).toBe('unavailable');
    expect(batcher.stats).toMatchObject({ chainsTimedOut: 1, inflight: 1, queuedEvents: 1 });
    // The queued chain waited for the slot the stuck request still holds: it is never sent.
    clock.advance(400);
    await settle();
    expect(await queued).toBe('unavailable');
    expect(ledger.requests).toHaveLength(1);
    expect(batcher.stats).toMatchObject({ chainsTimedOut: 2, inflight: 1, queuedEvents: 0 });
  });

  test('the slot stays taken until the ledger settles the late request, then frees', async () => {
    const { clock, ledger, batcher } = setup();
    void outcome(batcher.submit(chain(1n, 1)));
    clock.runImmediates();
    clock.advance(1_000);
    await settle();
    const next = batcher.submit(chain(2n, 1));
    clock.runImmediates();
    expect(ledger.requests).toHaveLength(1);
    ledger.answer();
    await settle();
    clock.runImmediates();
    expect(ledger.requests).toHaveLength(2);
    ledger.answer();
    expectEchoed(await next, chain(2n, 1));
    expect(batcher.stats.chainsTimedOut).toBe(1);
  });

  test('an answer in time resolves, and its deadline later does nothing', async () => {
    const { clock, ledger, batcher } = setup();
    const done = batcher.submit(chain(1n, 2));
    clock.runImmediates();
    clock.advance(999);
    ledger.answer();
    expectEchoed(await done, chain(1n, 2));
    clock.advance(5_000);
    await settle();
    expect(batcher.stats.chainsTimedOut).toBe(0);
  });
});

describe('drain', () => {
  test('sends what is queued at once, waits for the answers, then refuses', async () => {
    const clock = new ManualClock();
    const ledger = new ControlledLedger();
    const batcher = new TransferBatcher(ledger, {
      flushDelayMs: 1_000,
      batchEventsMax: 4,
      inflightMax: 1,
      clock,
    });
    const sent = chains([3, 3, 2, 1]);
    const results = sent.map((one) => batcher.submit(one));
    let drained = false;
    const draining = batcher.drain().then(() => {
      drained = true;
    });
    expect(batcher.drain()).toBe(batcher.drain());
    const refused = batcher.submit(chain(100n, 1));
    await expect(refused).rejects.toBeInstanceOf(BatcherDrainingError);
    await expect(refused).rejects.toMatchObject({ code: 'draining' });
    expect(await refused.catch((error: unknown) => error instanceof BatcherError)).toBe(true);
    // No timer or immediate is needed: each completion sends the next batch.
    for (let answered = 0; answered < 3; answered++) {
      expect(drained).toBe(false);
      ledger.answer();
      await settle();
    }
    await draining;
    expect(ledger.requests.map((request) => request.length)).toEqual([3, 3, 3]);
    (await Promise.all(results)).forEach((one, i) => expectEchoed(one, sent[i]!));
    expect(batcher.stats).toMatchObject({ queuedEvents: 0, inflight: 0, rejectedDraining: 1 });
  });

  test('an idle batcher drains at once', async () => {
    const batcher = new TransferBatcher(new InstantLedger(), { flushDelayMs: 1 });
    await batcher.drain();
    await expect(batcher.submit(chain(1n, 1))).rejects.toMatchObject({ code: 'draining' });
  });

  test('drain resolves even when the requests it waits for fail', async () => {
    const ledger = new ControlledLedger();
    const batcher = new TransferBatcher(ledger, { flushDelayMs: 1 });
    const lost = batcher.submit(chain(1n, 2));
    const draining = batcher.drain();
    ledger.fail(0, new LedgerError('unavailable', 'cluster unreachable'));
    await draining;
    await expect(lost).rejects.toMatchObject({ code: 'unavailable' });
  });
});
