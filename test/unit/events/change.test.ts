/**
 * Proves the change event codec against TigerBeetle itself: every message `tigerbeetle amqp`
 * published in the captured fixture decodes, and encodes back to the same bytes with the same
 * AMQP properties; any event fast-check builds (u128 values on both sides of 2^53) round-trips;
 * and every broken message is a typed EventDecodeError, never another exception.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { EventDecodeError } from '../../../events/errors';
import {
  CHANGE_TYPES,
  type ChangeAccount,
  changeAmqpProperties,
  decodeChange,
  encodeChange,
  type LedgerChange,
  sideOfKey,
} from '../../../events/change';
import { U128_MAX, U16_MAX, U32_MAX, U64_MAX } from '../../../ledger/port';

interface Captured {
  properties: ReturnType<typeof changeAmqpProperties>;
  body: string;
}

const captured: Captured[] = readFileSync(
  join(__dirname, '../../fixtures/cdc/tigerbeetle-0.17.9.jsonl'),
  'utf8',
)
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as Captured);

describe('what TigerBeetle 0.17.9 published', () => {
  it('covers every change type but a void', () => {
    const types = new Set(captured.map((m) => decodeChange(m.body).type));
    expect([...types].sort()).toEqual(CHANGE_TYPES.filter((t) => t !== 'two_phase_voided').sort());
  });

  it.each(captured.map((m, i) => [i, m] as const))('message %i re-encodes to its bytes', (_, m) => {
    const change = decodeChange(m.body);
    expect(encodeChange(change).toString('utf8')).toBe(m.body);
    expect(changeAmqpProperties(change)).toEqual(m.properties);
  });

  it('reads the expiry as the pending transfer at a later timestamp, balances released', () => {
    const expired = captured.map((m) => decodeChange(m.body)).at(-1)!;
    expect(expired.type).toBe('two_phase_expired');
    expect(expired.timestamp).toBeGreaterThan(expired.transfer.timestamp);
    expect(expired.debitAccount.debitsPending).toBe(0n);
    expect(expired.creditAccount.creditsPending).toBe(0n);
  });
});

const wide = (max: bigint) =>
  fc.oneof(fc.bigInt({ min: 0n, max: 1n << 60n }), fc.bigInt({ min: 0n, max }));
const accountArb = (id: fc.Arbitrary<bigint>): fc.Arbitrary<ChangeAccount> =>
  fc.record({
    id,
    debitsPending: wide(U128_MAX),
    debitsPosted: wide(U128_MAX),
    creditsPending: wide(U128_MAX),
    creditsPosted: wide(U128_MAX),
    userData128: wide(U128_MAX),
    userData64: wide(U64_MAX),
    userData32: fc.integer({ min: 0, max: U32_MAX }),
    code: fc.integer({ min: 0, max: U16_MAX }),
    flags: fc.integer({ min: 0, max: U16_MAX }),
    timestamp: wide(U64_MAX),
  });
const changeArb: fc.Arbitrary<LedgerChange> = fc.record({
  timestamp: wide(U64_MAX),
  type: fc.constantFrom(...CHANGE_TYPES),
  ledger: fc.integer({ min: 0, max: U32_MAX }),
  transfer: fc.record({
    id: wide(U128_MAX),
    amount: wide(U128_MAX),
    pendingId: wide(U128_MAX),
    userData128: wide(U128_MAX),
    userData64: wide(U64_MAX),
    userData32: fc.integer({ min: 0, max: U32_MAX }),
    timeout: fc.integer({ min: 0, max: U32_MAX }),
    code: fc.integer({ min: 0, max: U16_MAX }),
    flags: fc.integer({ min: 0, max: U16_MAX }),
    timestamp: wide(U64_MAX),
  }),
  debitAccount: accountArb(fc.bigInt({ min: 1n, max: U128_MAX / 2n })),
  creditAccount: accountArb(fc.bigInt({ min: U128_MAX / 2n + 1n, max: U128_MAX })),
});

describe('round trip', () => {
  it('decodes what it encodes, exactly, and keys each side', () => {
    fc.assert(
      fc.property(changeArb, (change) => {
        const bytes = encodeChange(change);
        const back = decodeChange(bytes);
        expect(back).toEqual(change);
        expect(encodeChange(back).equals(bytes)).toBe(true);
        expect(sideOfKey(back, change.debitAccount.id.toString())).toBe('debit');
        expect(sideOfKey(back, change.creditAccount.id.toString())).toBe('credit');
        expect(sideOfKey(back, '0')).toBeNull();
      }),
      { numRuns: 300 },
    );
  });
});

describe('what it refuses', () => {
  const good = JSON.parse(captured[0]!.body) as Record<string, unknown>;
  const cases: [string, string | null][] = [
    ['no value', null],
    ['not JSON', '{"timestamp":'],
    ['an array', '[]'],
    ['an unknown type', JSON.stringify({ ...good, type: 'two_phase_reversed' })],
    [
      'a negative amount',
      JSON.stringify({ ...good, transfer: { ...(good.transfer as object), amount: -1 } }),
    ],
    ['an unsafe number', JSON.stringify({ ...good, ledger: 2 ** 53 })],
    [
      'a u128 overflow',
      JSON.stringify({
        ...good,
        transfer: { ...(good.transfer as object), id: (U128_MAX + 1n).toString() },
      }),
    ],
    ['a leading zero', JSON.stringify({ ...good, timestamp: '01' })],
    ['a missing account', JSON.stringify({ ...good, credit_account: undefined })],
    ['one account twice', JSON.stringify({ ...good, credit_account: good.debit_account })],
  ];
  it.each(cases)('%s', (_, body) => {
    expect(() => decodeChange(body)).toThrow(EventDecodeError);
  });
});
