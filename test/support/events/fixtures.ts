/**
 * Outcomes for the events tests: a fast-check arbitrary over every kind (huge u128 values, any
 * Unicode in the free-text fields), and a small deterministic outcome for integration tests.
 */
import fc from 'fast-check';
import type { OutcomeKind } from '../../../events/journal-model';
import {
  CreateTransferStatus,
  TransferFlags,
  type Transfer,
  U128_MAX,
  U16_MAX,
  U32_MAX,
  U64_MAX,
} from '../../../ledger/port';
import { TRANSFER_STATUS_NAMES } from '../../../events/schema';
import type { JournalOutcome, TransferOutcome } from '../../../events/journal-model';

const u128 = fc.oneof(fc.bigInt({ min: 0n, max: U128_MAX }), fc.constantFrom(0n, 1n, U128_MAX));
const u64 = fc.bigInt({ min: 0n, max: U64_MAX });
const u32 = fc.integer({ min: 0, max: U32_MAX });
const u16 = fc.integer({ min: 0, max: U16_MAX });
const text = fc.string({ unit: 'binary', maxLength: 40 });

const STEP_FLAGS: Record<Exclude<OutcomeKind, 'rejected'>, number> = {
  posted: 0,
  held: TransferFlags.pending,
  hold_posted: TransferFlags.post_pending_transfer,
  hold_voided: TransferFlags.void_pending_transfer,
};

export const outcomeArbitrary: fc.Arbitrary<JournalOutcome> = fc
  .record({
    kind: fc.constantFrom<OutcomeKind>('posted', 'held', 'hold_posted', 'hold_voided', 'rejected'),
    rejectedStep: fc.constantFrom<keyof typeof STEP_FLAGS>('posted', 'hold_posted', 'hold_voided'),
    journalId: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
    // A hold's post or void may come without the journal (the service does not have it then).
    withoutJournal: fc.boolean(),
    date: text,
    description: text,
    source: text,
    pending: fc.option(fc.record({ timeoutSeconds: u32 }), { nil: null }),
    lines: fc.array(
      fc.record({ accountId: fc.string({ minLength: 1, maxLength: 30 }), amount: u128 }),
      { minLength: 2, maxLength: 6 },
    ),
    transfers: fc.array(
      fc.record({
        id: u128,
        debit: u128,
        credit: u128,
        amount: u128,
        pendingId: u128,
        ud128: u128,
        ud64: u64,
        ud32: u32,
        timeout: u32,
        ledger: u32,
        code: u16,
        extraFlags: fc.constantFrom(0, TransferFlags.linked),
        timestamp: u64,
        status: fc.constantFrom(...TRANSFER_STATUS_NAMES),
        debitLine: fc.nat(),
        creditLine: fc.nat(),
      }),
      { minLength: 1, maxLength: 5 },
    ),
  })
  .map((r): JournalOutcome => {
    const lineCount = r.lines.length;
    const step = r.kind === 'rejected' ? r.rejectedStep : r.kind;
    const stepFlags = STEP_FLAGS[step];
    const bare = r.withoutJournal && (step === 'hold_posted' || step === 'hold_voided');
    const transfers = r.transfers.map((t): TransferOutcome => {
      const transfer: Transfer = {
        id: t.id,
        debit_account_id: t.debit,
        credit_account_id: t.credit,
        amount: t.amount,
        pending_id: t.pendingId,
        user_data_128: t.ud128,
        user_data_64: t.ud64,
        user_data_32: t.ud32,
        timeout: t.timeout,
        ledger: t.ledger,
        code: t.code,
        flags: stepFlags | t.extraFlags,
        timestamp: 0n,
      };
      // A retry reports `exists` where the first attempt said `created`: both are successes.
      const success = t.id % 2n === 0n ? 'created' : 'exists';
      const status = CreateTransferStatus[r.kind === 'rejected' ? t.status : success];
      return {
        transfer,
        debitLine: bare ? null : (t.debitLine % lineCount) + 1,
        creditLine: bare ? null : (t.creditLine % lineCount) + 1,
        status,
        timestamp: t.timestamp,
      };
    });
    return {
      kind: r.kind,
      journalId: r.journalId,
      journal: bare
        ? null
        : {
            journalId: r.journalId,
            date: r.date,
            description: r.description,
            source: r.source,
            pending: r.pending,
            lines: r.lines.map((line, index) => ({
              lineNumber: index + 1,
              accountId: line.accountId,
              lineType: index % 2 === 0 ? 'DEBIT' : 'CREDIT',
              amount: line.amount,
            })),
          },
      transfers,
    };
  });

/**
 * A posted 2-line journal (or the given kind), deterministic in `journalId` and `sequence`; the
 * amount is a u128 well above 2^64 so nothing on the way can carry it as a double. `bare`: a hold
 * step as the service publishes it, without the journal or line numbers.
 */
export function sampleOutcome(
  journalId: string,
  sequence = 0,
  kind: OutcomeKind = 'posted',
  bare = false,
): JournalOutcome {
  const base = BigInt(sequence) * 4n + 1n;
  const flags = kind === 'rejected' || kind === 'posted' ? 0 : STEP_FLAGS[kind];
  const amount = (1n << 100n) + BigInt(sequence);
  const outcome: JournalOutcome = {
    kind,
    journalId,
    journal: {
      journalId,
      date: '2025-11-21',
      description: `sample ${sequence} — naïve café ☕`,
      source: 'test/events',
      pending: kind === 'held' ? { timeoutSeconds: 3600 } : null,
      lines: [
        { lineNumber: 1, accountId: 'acc-cash', lineType: 'DEBIT', amount },
        { lineNumber: 2, accountId: 'acc-revenue', lineType: 'CREDIT', amount },
      ],
    },
    transfers: [
      {
        transfer: {
          id: (1n << 120n) + base,
          debit_account_id: 1001n,
          credit_account_id: 1002n,
          amount,
          pending_id: 0n,
          user_data_128: 7n,
          user_data_64: 8n,
          user_data_32: 9,
          timeout: 0,
          ledger: 1,
          code: 10,
          flags,
          timestamp: 0n,
        },
        debitLine: bare ? null : 1,
        creditLine: bare ? null : 2,
        status:
          kind === 'rejected' ? CreateTransferStatus.exceeds_credits : CreateTransferStatus.created,
        timestamp: 1_763_700_000_000_000_000n + BigInt(sequence),
      },
    ],
  };
  if (bare) outcome.journal = null;
  return outcome;
}
