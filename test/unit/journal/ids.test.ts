/**
 * Proves the id scheme of ledger/ids.ts: ULID and UUIDv7 times are decoded (known
 * vectors), and by fast-check properties ids are deterministic, in TigerBeetle's range (never 0
 * nor 2^128-1), distinct for distinct (journalId, phase, index), laid out as documented, and
 * ordered by time for ULIDs and UUIDv7s with increasing times.
 */
import fc from 'fast-check';
import {
  accountLedgerId,
  journalKey,
  journalTransferIds,
  transferId,
  type TransferPhase,
} from '../../../ledger/ids';
import { U128_MAX } from '../../../ledger/port';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_MAX = 2 ** 48 - 1;

function ulid(timeMs: number, random: readonly number[]): string {
  let time = '';
  for (let i = 0, t = timeMs; i < 10; i++, t = Math.floor(t / 32)) time = CROCKFORD[t % 32] + time;
  return time + random.map((r) => CROCKFORD[r]).join('');
}

function uuidV7(timeMs: number, hex: string): string {
  const t = timeMs.toString(16).padStart(12, '0');
  return `${t.slice(0, 8)}-${t.slice(8)}-7${hex.slice(0, 3)}-a${hex.slice(3, 6)}-${hex.slice(6, 18)}`;
}

const time = fc.integer({ min: 0, max: TIME_MAX });
const ulidRandom = fc.array(fc.integer({ min: 0, max: 31 }), { minLength: 16, maxLength: 16 });
const hex18 = fc.stringMatching(/^[0-9a-f]{18}$/);
const ulids = fc.tuple(time, ulidRandom).map(([t, r]) => ulid(t, r));
const uuids = fc.tuple(time, hex18).map(([t, h]) => uuidV7(t, h));
const otherIds = fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/);
const journalIds = fc.oneof(ulids, uuids, otherIds);
const phases = fc.constantFrom<TransferPhase>('create', 'post', 'void');
const indexes = fc.integer({ min: 0, max: 255 });

describe('journalKey: times', () => {
  it.each([
    ['00000000000000000000000000', 0],
    ['7ZZZZZZZZZZZZZZZZZZZZZZZZZ', TIME_MAX],
    ['01ARYZ6S41TSV4RRFFQ69G5FAV', 1469918176385], // the ulid package's decodeTime example
    ['01arz3ndektsv4rrffq69g5fav', 1469922850259],
    ['017f22e2-79b0-7cc3-98c4-dc0c0c07398f', 0x017f22e279b0], // RFC 9562 example
    ['017F22E2-79B0-7CC3-98C4-DC0C0C07398F', 0x017f22e279b0],
  ])('%s carries %d', (id, ms) => {
    expect(journalKey(id).timeMs).toBe(ms);
  });

  it.each([
    ['a UUIDv4', 'b2c4e1f0-9a7d-4c1e-8f3a-2b6d9e0c1a54'],
    ['a UUIDv7 with a bad variant', '017f22e2-79b0-7cc3-08c4-dc0c0c07398f'],
    ['a ULID-like string with U', '01ARZ3NDEKTSV4RRFFQ69G5FAU'],
    ['a ULID beyond 48 bits', '8ZZZZZZZZZZZZZZZZZZZZZZZZZ'],
    ['a 27-char ULID-like string', '01ARZ3NDEKTSV4RRFFQ69G5FAVX'],
    ['a client string', 'order-17'],
  ])('%s carries none', (_what, id) => {
    expect(journalKey(id).timeMs).toBeNull();
  });

  it('puts the time in the high 48 bits and hashes the raw string below', () => {
    const upper = journalKey('01ARZ3NDEKTSV4RRFFQ69G5FAV');
    const lower = journalKey('01arz3ndektsv4rrffq69g5fav');
    expect(upper.bits >> 80n).toBe(1469922850259n);
    expect(lower.bits >> 80n).toBe(1469922850259n);
    expect(upper.bits).not.toBe(lower.bits);
  });
});

describe('transferId', () => {
  it.each([-1, 256, 1.5, NaN])('refuses index %p', (index) => {
    expect(() => transferId('order-1', 'create', index)).toThrow(/index/);
  });

  it('lists a chain the way transferId numbers it', () => {
    expect(journalTransferIds('order-1', 'post', 3)).toEqual(
      [0, 1, 2].map((i) => transferId('order-1', 'post', i)),
    );
  });

  it('is deterministic, in range and laid out as [key | phase | index]', () => {
    const code = { create: 0n, post: 1n, void: 2n };
    fc.assert(
      fc.property(journalIds, phases, indexes, (journalId, phase, index) => {
        const id = transferId(journalId, phase, index);
        expect(transferId(journalId, phase, index)).toBe(id);
        expect(id > 0n && id < U128_MAX).toBe(true);
        expect(id & 0xffn).toBe(BigInt(index));
        expect((id >> 8n) & 3n).toBe(code[phase]);
        expect(id >> 10n).toBe(journalKey(journalId).bits >> 10n);
      }),
    );
  });

  it('is distinct for distinct (journalId, phase, index)', () => {
    const triples = fc.uniqueArray(fc.tuple(journalIds, phases, indexes), {
      minLength: 2,
      maxLength: 200,
      selector: ([j, p, i]) => `${j}\u0000${p}\u0000${i}`,
    });
    fc.assert(
      fc.property(triples, (list) => {
        const ids = new Set(list.map(([j, p, i]) => transferId(j, p, i)));
        expect(ids.size).toBe(list.length);
      }),
    );
  });

  it('orders ULIDs and UUIDv7s by time, whatever their other bits', () => {
    const pair = fc
      .tuple(time, time)
      .filter(([a, b]) => a !== b)
      .map(([a, b]): [number, number] => (a < b ? [a, b] : [b, a]));
    fc.assert(
      fc.property(
        pair,
        ulidRandom,
        ulidRandom,
        hex18,
        hex18,
        phases,
        phases,
        indexes,
        indexes,
        ([early, late], r1, r2, h1, h2, p1, p2, i1, i2) => {
          expect(transferId(ulid(early, r1), p1, i1) < transferId(ulid(late, r2), p2, i2)).toBe(
            true,
          );
          expect(transferId(uuidV7(early, h1), p1, i1) < transferId(uuidV7(late, h2), p2, i2)).toBe(
            true,
          );
        },
      ),
    );
  });
});

describe('accountLedgerId', () => {
  it('is deterministic, in range, distinct per account, and apart from transfer phases', () => {
    const accountIds = fc.uniqueArray(journalIds, { minLength: 2, maxLength: 100 });
    fc.assert(
      fc.property(accountIds, (list) => {
        const ids = list.map(accountLedgerId);
        expect(new Set(ids).size).toBe(list.length);
        for (const [k, id] of ids.entries()) {
          expect(accountLedgerId(list[k]!)).toBe(id);
          expect(id > 0n && id < U128_MAX).toBe(true);
          expect((id >> 8n) & 3n).toBe(3n);
        }
      }),
    );
  });
});
