/**
 * Proves the balance cache's wire formats round-trip and refuse what they did not write: the
 * balance token (a u64 ledger timestamp, decimal), the Redis entry (u128 fields as strings, the
 * asOf timestamp padded so Lua compares it as a string), the invalidation message, and the
 * posting hook's change (touched accounts and the largest transfer timestamp).
 */
import { decodeInvalidation, encodeInvalidation } from '../../../bridge/src/balances/bus';
import { decodeEntry, encodeEntry, padTimestamp } from '../../../bridge/src/balances/entry';
import {
  BalanceTokenError,
  balanceChange,
  decodeBalanceToken,
  encodeBalanceToken,
} from '../../../bridge/src/balances/token';
import { U128_MAX, U64_MAX } from '../../../ledger/port';

test('a balance token is the ledger timestamp in decimal', () => {
  expect(decodeBalanceToken(encodeBalanceToken(1_763_000_000_123_456_789n))).toBe(
    1_763_000_000_123_456_789n,
  );
  expect(decodeBalanceToken(U64_MAX.toString())).toBe(U64_MAX);
  for (const bad of ['', '01', 'p0.o1', (U64_MAX + 1n).toString(), ' 1']) {
    expect(() => decodeBalanceToken(bad)).toThrow(BalanceTokenError);
  }
});

test('an entry round-trips with u128 amounts; its padded asOf orders as a string', () => {
  const entry = {
    balances: {
      debits_posted: U128_MAX,
      credits_posted: 1n,
      debits_pending: 0n,
      credits_pending: 12345678901234567890n,
      timestamp: 1_763_000_000_000_000_000n,
    },
    asOfNs: 1_763_000_000_000_000_001n,
    fetchedAtMs: 1_763_000_000_000,
  };
  expect(decodeEntry(encodeEntry(entry))).toEqual(entry);
  expect(padTimestamp(9n) < padTimestamp(10n)).toBe(true);
  expect(padTimestamp(U64_MAX)).toHaveLength(20);
  expect(() => decodeEntry('{"dp":"1.5"}')).toThrow();
});

test('invalidation messages round-trip; foreign messages are refused', () => {
  const invalidation = { ledgerIds: ['1', U128_MAX.toString()], ledgerTimestampNs: 77n };
  expect(decodeInvalidation(encodeInvalidation('a', invalidation))).toEqual({
    instanceId: 'a',
    invalidation,
  });
  for (const bad of ['', 'a 1', 'a x 1', 'a 1 0', 'a 1 1,,2', 'a 1 1 extra']) {
    expect(decodeInvalidation(bad)).toBeNull();
  }
});

test('a committed chain touches its accounts once; its token is the largest timestamp', () => {
  const change = balanceChange([
    { debit_account_id: 1n, credit_account_id: 2n, timestamp: 10n },
    { debit_account_id: 2n, credit_account_id: 3n, timestamp: 11n },
  ]);
  expect(change).toEqual({ ledgerIds: [1n, 2n, 3n], ledgerTimestampNs: 11n });
  expect(() =>
    balanceChange([{ debit_account_id: 1n, credit_account_id: 2n, timestamp: 0n }]),
  ).toThrow(/invariant/);
});
