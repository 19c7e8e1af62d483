/**
 * Proves, for random chain lengths, options and interleavings of submits, macrotasks, time and
 * ledger answers (in any order, some failing, some short), that the batcher settles every chain
 * exactly once with its own results in order (or its request's error), never sends a request
 * over the limit or a split chain, keeps submit order, respects inflightMax and queueEventsMax,
 * and never strands a chain (every batch is eventually sent without drain). Seeded: a failure
 * prints the seed and path; rerun with SEED=<seed>.
 */
import { replay, testSeed } from '../../support/seed';
import fc from 'fast-check';
import {
  BatcherDrainingError,
  BatcherOverloadedError,
  LedgerInvariantError,
  TransferBatcher,
} from '../../../ledger/batcher';
import { type CreateTransferResult, LedgerError, type Transfer } from '../../../ledger/port';
import { chain, ControlledLedger, echo, ManualClock, settle } from '../../support/ledger/fakes';

const SEED = testSeed(20_251_121);
const RUNS = Number(process.env.BATCHER_RUNS ?? 300);

type Action =
  | { kind: 'submit'; length: number; bad: boolean }
  | { kind: 'immediates' }
  | { kind: 'advance'; ms: number }
  | { kind: 'answer'; pick: number; outcome: 'ok' | 'fail' | 'short' };

/** `answerWeight` sets how fast the ledger answers against submits (8): 1 is a slow ledger. */
const action = (answerWeight: number): fc.Arbitrary<Action> =>
  fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        kind: fc.constant('submit' as const),
        length: fc.oneof(
          { weight: 4, arbitrary: fc.integer({ min: 1, max: 4 }) },
          fc.integer({ min: 1, max: 45 }),
        ),
        // One in twenty carries a value the wire cannot (a negative amount).
        bad: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
      }),
    },
    { weight: 3, arbitrary: fc.constant({ kind: 'immediates' as const }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('advance' as const),
        ms: fc.integer({ min: 0, max: 4 }),
      }),
    },
    {
      weight: answerWeight,
      arbitrary: fc.record({
        kind: fc.constant('answer' as const),
        pick: fc.nat(),
        outcome: fc.constantFrom<'ok' | 'fail' | 'short'>('ok', 'ok', 'ok', 'ok', 'fail', 'short'),
      }),
    },
  );

interface Tracked {
  chain: Transfer[];
  bad: boolean;
  /** Submitted after drain() began: must be refused. */
  afterDrain: boolean;
  settled: number;
  results?: CreateTransferResult[];
  error?: unknown;
}

const scenario = fc.record({
  batchEventsMax: fc.integer({ min: 1, max: 40 }),
  inflightMax: fc.integer({ min: 1, max: 3 }),
  // Often a tight queue, so refusals for load happen.
  queueExtra: fc.oneof(
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 5 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 80 }) },
  ),
  flushDelayMs: fc.constantFrom(0, 1, 2.5),
  actions: fc
    .integer({ min: 1, max: 6 })
    .chain((answerWeight) => fc.array(action(answerWeight), { minLength: 5, maxLength: 120 })),
  /** Drain starts before this action, in some runs. */
  drainAt: fc.option(fc.nat({ max: 120 }), { freq: 4 }),
});

test(`random interleavings keep the batcher's contract ${replay(SEED)}`, async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      const clock = new ManualClock();
      const ledger = new ControlledLedger();
      const queueEventsMax = s.batchEventsMax + s.queueExtra;
      const batcher = new TransferBatcher(ledger, {
        flushDelayMs: s.flushDelayMs,
        batchEventsMax: s.batchEventsMax,
        inflightMax: s.inflightMax,
        queueEventsMax,
        clock,
      });
      const tracked: Tracked[] = [];
      const failedRequests = new Map<Transfer[], unknown>();
      let nextId = 1n;
      let draining: Promise<void> | null = null;

      const checkGauges = (): void => {
        expect(ledger.pending.length).toBeLessThanOrEqual(s.inflightMax);
        expect(batcher.stats.inflight).toBe(ledger.pending.length);
        expect(batcher.stats.queuedEvents).toBeLessThanOrEqual(queueEventsMax);
      };

      const answer = async (pick: number, outcome: 'ok' | 'fail' | 'short'): Promise<void> => {
        if (ledger.pending.length === 0) return;
        const index = pick % ledger.pending.length;
        const batch = ledger.pending[index]!.batch;
        if (outcome === 'ok') {
          ledger.answer(index);
        } else if (outcome === 'fail') {
          const error = new LedgerError('unavailable', `request failed`);
          failedRequests.set(batch, error);
          ledger.fail(index, error);
        } else {
          failedRequests.set(batch, LedgerInvariantError);
          ledger.answerWith(index, echo(batch).slice(1));
        }
        await settle();
      };

      for (const [index, step] of s.actions.entries()) {
        if (index === s.drainAt) draining = batcher.drain();
        switch (step.kind) {
          case 'submit': {
            const made = chain(nextId, step.length);
            nextId += BigInt(step.length);
            if (step.bad) made[made.length - 1]!.amount = -1n;
            const bad = step.bad;
            const record: Tracked = { chain: made, settled: 0, bad, afterDrain: draining !== null };
            tracked.push(record);
            const queuedBefore = batcher.stats.queuedEvents;
            const overloadedBefore = batcher.stats.rejectedOverloaded;
            batcher.submit(made).then(
              (results) => {
                record.settled++;
                record.results = results;
              },
              (error: unknown) => {
                record.settled++;
                record.error = error;
              },
            );
            const overloaded = batcher.stats.rejectedOverloaded > overloadedBefore;
            if (overloaded) expect(queuedBefore + step.length).toBeGreaterThan(queueEventsMax);
            break;
          }
          case 'immediates':
            clock.runImmediates();
            break;
          case 'advance':
            clock.advance(step.ms);
            break;
          case 'answer':
            await answer(step.pick, step.outcome);
            break;
        }
        checkGauges();
      }

      if (draining === null) {
        // Liveness: answering everything and letting time pass empties the batcher.
        for (let round = 0; round < 10_000; round++) {
          if (batcher.stats.queuedEvents === 0 && ledger.pending.length === 0) break;
          await answer(0, 'ok');
          clock.runImmediates();
          clock.advance(s.flushDelayMs + 1);
          checkGauges();
        }
        expect(batcher.stats).toMatchObject({ queuedEvents: 0, inflight: 0 });
        draining = batcher.drain();
      }
      // Drain needs no timer: answering what it sent is enough.
      let drained = false;
      void draining.then(() => {
        drained = true;
      });
      await settle();
      while (!drained && ledger.pending.length > 0) await answer(0, 'ok');
      expect(drained).toBe(true);
      expect(batcher.stats).toMatchObject({ queuedEvents: 0, inflight: 0 });

      // Every chain settled once; sent chains whole, in submit order, in requests within limits.
      const sentEvents = ledger.requests.flat();
      const requestOf = new Map<Transfer, Transfer[]>();
      for (const request of ledger.requests) {
        expect(request.length).toBeGreaterThan(0);
        expect(request.length).toBeLessThanOrEqual(s.batchEventsMax);
        for (const event of request) requestOf.set(event, request);
      }
      const accepted: Transfer[] = [];
      for (const record of tracked) {
        expect(record.settled).toBe(1);
        const request = requestOf.get(record.chain[0]!);
        if (request === undefined) {
          // Refused at submit, never sent: for its length, its wire ranges, load or shutdown.
          const code = record.error instanceof LedgerError ? record.error.code : null;
          if (record.chain.length > s.batchEventsMax) expect(code).toBe('too_much_data');
          else if (record.bad) expect(code).toBe('invalid_event');
          else if (record.afterDrain) expect(record.error).toBeInstanceOf(BatcherDrainingError);
          else expect(record.error).toBeInstanceOf(BatcherOverloadedError);
          continue;
        }
        expect(record.bad || record.afterDrain).toBe(false);
        accepted.push(...record.chain);
        for (const event of record.chain) expect(requestOf.get(event)).toBe(request);
        const failure = failedRequests.get(request);
        if (failure === undefined) {
          expect(record.results!.map((r) => r.timestamp)).toEqual(record.chain.map((t) => t.id));
        } else if (failure === LedgerInvariantError) {
          expect(record.error).toBeInstanceOf(LedgerInvariantError);
        } else {
          expect(record.error).toBe(failure);
        }
      }
      expect(sentEvents).toEqual(accepted);
      expect(batcher.stats.events).toBe(sentEvents.length);
    }),
    { seed: SEED, numRuns: RUNS },
  );
});
