/**
 * The key's text, scopes and the key cache's staleness bounds, without a database.
 */
import fc from 'fast-check';
import {
  generateKey,
  parseKey,
  redactKey,
  secretMatches,
} from '../../../bridge/src/access/api-key';
import { KeyCache } from '../../../bridge/src/access/key-cache';
import { parseScopes, SCOPES } from '../../../bridge/src/access/scopes';

describe('the key text', () => {
  it('round-trips: a generated key parses to its id and a secret matching its digest', () => {
    for (let i = 0; i < 200; i++) {
      const key = generateKey();
      const parsed = parseKey(key.text)!;
      expect(parsed.id).toBe(key.id);
      expect(secretMatches(parsed.secret, key.secretSha256)).toBe(true);
      expect(redactKey(key.text)).toBe(`lbk_${key.id}_…`);
    }
  });

  it('no other secret matches, and no text but a key parses', () => {
    const key = generateKey();
    fc.assert(
      fc.property(fc.string({ minLength: 0, maxLength: 80 }), (text) => {
        expect(secretMatches(text, key.secretSha256)).toBe(text === parseKey(key.text)!.secret);
        const parsed = parseKey(text);
        if (parsed !== null) expect(text).toMatch(/^lbk_[0-9a-z]{16}_[A-Za-z0-9_-]{43}$/);
      }),
    );
    expect(parseKey(`${key.text} `)).toBeNull();
    expect(parseKey(key.text.toUpperCase())).toBeNull();
  });
});

describe('scopes', () => {
  it('parses lists and `all`; refuses unknown names and repeats, naming them', () => {
    expect(parseScopes('all')).toEqual([...SCOPES]);
    expect(parseScopes(' journals:write , balances:read ')).toEqual([
      'journals:write',
      'balances:read',
    ]);
    expect(() => parseScopes('journals:write,journal:read')).toThrow(/unknown journal:read/);
    expect(() => parseScopes('monitor:read,monitor:read')).toThrow(/twice/);
    expect(() => parseScopes(' , ')).toThrow(/at least one/);
  });
});

describe('the key cache', () => {
  function setup() {
    let now = 0;
    let reads = 0;
    let answer: () => Promise<unknown[]> = async () => [];
    const db = {
      query: async () => {
        reads += 1;
        return { rows: await answer() };
      },
    } as never;
    const cache = new KeyCache({
      db,
      ttlMs: 1_000,
      staleMaxMs: 10_000,
      entriesMax: 10,
      now: () => now,
    });
    const row = (name: string) => ({
      id: 'k',
      name,
      secret_sha256: Buffer.alloc(32),
      scopes: ['balances:read'],
      assets: null,
      holders: null,
      created_at: new Date(0),
      expires_at: null,
      revoked_at: null,
      replaced_by: null,
    });
    return {
      cache,
      reads: () => reads,
      at: (ms: number) => void (now = ms),
      answer: (fn: () => Promise<unknown[]>) => void (answer = fn),
      row,
    };
  }

  it('re-reads after the TTL and shares one read among concurrent misses', async () => {
    const s = setup();
    s.answer(async () => [s.row('first')]);
    const both = await Promise.all([s.cache.get('k'), s.cache.get('k')]);
    expect(both.map((r) => r?.name)).toEqual(['first', 'first']);
    expect(s.reads()).toBe(1);
    s.answer(async () => [s.row('second')]);
    s.at(999);
    expect((await s.cache.get('k'))?.name).toBe('first');
    s.at(1_000);
    expect((await s.cache.get('k'))?.name).toBe('second');
    expect(s.reads()).toBe(2);
  });

  it('caches "no such key" too, for the TTL', async () => {
    const s = setup();
    expect(await s.cache.get('k')).toBeNull();
    expect(await s.cache.get('k')).toBeNull();
    expect(s.reads()).toBe(1);
  });

  it('serves a key read within staleMaxMs while the database fails, then fails with it', async () => {
    const s = setup();
    s.answer(async () => [s.row('cached')]);
    await s.cache.get('k');
    s.answer(async () => {
      throw new Error('database down');
    });
    s.at(9_999);
    expect((await s.cache.get('k'))?.name).toBe('cached');
    s.at(10_000);
    await expect(s.cache.get('k')).rejects.toThrow('database down');
  });
});
