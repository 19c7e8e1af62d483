/**
 * The access check (bridge/src/access/authorize.ts) on its fast path and around it, without a
 * database or Redis: a key the cache holds and a token the lease holds are answered at once (no
 * promise, the route runs in the same turn), yet every request still proves its secret, holds
 * the scope and takes a token; a key not cached, or a lease to fetch, makes it wait. Refusals
 * are the same on both paths: wrong secret, unknown, revoked or expired key (one code), missing
 * scope, limit spent. Table-driven over the refusals.
 */
import http from 'node:http';
import { Socket } from 'node:net';
import client from 'prom-client';
import { generateKey } from '../../../bridge/src/access/api-key';
import {
  accessCheck,
  type AccessLimiter,
  limitedBy,
  type LimitVerdict,
} from '../../../bridge/src/access/authorize';
import { callerOf } from '../../../bridge/src/access/caller';
import { KeyCache } from '../../../bridge/src/access/key-cache';
import { RateLimiter } from '../../../bridge/src/access/rate-limit';
import { ApiError } from '../../../bridge/src/http/api-error';

const NOW_MS = Date.parse('2026-12-03T12:00:00Z');

function keyRow(overrides: Record<string, unknown> = {}) {
  const key = generateKey();
  const row = {
    id: key.id,
    name: 'test',
    secret_sha256: key.secretSha256,
    scopes: ['balances:read'],
    assets: null,
    holders: null,
    created_at: new Date(0),
    expires_at: null,
    revoked_at: null,
    replaced_by: null,
    ...overrides,
  };
  return { key, row };
}

/** A key cache over a fake table; `reads` counts its queries. */
function keysOver(rows: Array<Record<string, unknown>>) {
  let reads = 0;
  const db = {
    query: async (_sql: string, params: unknown[]) => {
      reads += 1;
      return { rows: rows.filter((r) => r.id === params[0]) };
    },
  };
  const cache = new KeyCache({ db: db as never, ttlMs: 5_000, staleMaxMs: 60_000, entriesMax: 10 });
  return { cache, reads: () => reads };
}

function request(authorization?: string) {
  const req = new http.IncomingMessage(new Socket());
  if (authorization !== undefined) req.headers.authorization = authorization;
  const res = new http.ServerResponse(req);
  return { req, res };
}

/** The check's outcome, sync or not: 'now' / 'later' and the refusal's code, if any. */
async function outcome(run: () => void | Promise<void>): Promise<[string, string | null]> {
  let result: void | Promise<void>;
  try {
    result = run();
  } catch (error) {
    return ['now', (error as ApiError).code];
  }
  if (result === undefined) return ['now', null];
  try {
    await result;
    return ['later', null];
  } catch (error) {
    return ['later', (error as ApiError).code];
  }
}

const allow: AccessLimiter = {
  take: () => ({ allowed: true, headers: { 'ratelimit-limit': '9' } }),
};

describe('accessCheck', () => {
  it('waits for a key it has not read, then answers a cached key at once', async () => {
    const { key, row } = keyRow();
    const keys = keysOver([row]);
    const check = accessCheck({ keys: keys.cache, limiter: allow });
    const first = request(`Bearer ${key.text}`);
    expect(await outcome(() => check(first.req, first.res, 'balances:read'))).toEqual([
      'later',
      null,
    ]);
    const second = request(`Bearer ${key.text}`);
    expect(await outcome(() => check(second.req, second.res, 'balances:read'))).toEqual([
      'now',
      null,
    ]);
    expect(keys.reads()).toBe(1);
    expect(callerOf(second.req)?.keyId).toBe(key.id);
    expect(second.res.getHeader('ratelimit-limit')).toBe('9');
  });

  const wrong = generateKey();
  it.each([
    ['no header', () => undefined, {}, 'key_missing'],
    ['not Bearer', (t: string) => `Basic ${t}`, {}, 'key_invalid'],
    ['not a key', () => 'Bearer lbk_nope', {}, 'key_invalid'],
    ['another secret', (t: string) => t.slice(0, 21) + wrong.text.slice(21), {}, 'key_invalid'],
    ['revoked', (t: string) => t, { revoked_at: new Date(NOW_MS - 1) }, 'key_invalid'],
    ['expired', (t: string) => t, { expires_at: new Date(NOW_MS - 1) }, 'key_invalid'],
    ['without the scope', (t: string) => t, { scopes: ['journals:read'] }, 'scope_missing'],
  ])('refuses %s, cached or not', async (_name, header, overrides, code) => {
    const { key, row } = keyRow(overrides);
    const keys = keysOver([row]);
    const check = accessCheck({ keys: keys.cache, limiter: allow, now: () => new Date(NOW_MS) });
    const text = header(key.text);
    const auth =
      text === undefined
        ? undefined
        : text.startsWith('Bearer') || text.startsWith('Basic')
          ? text
          : `Bearer ${text}`;
    for (let i = 0; i < 2; i++) {
      const { req, res } = request(auth);
      const [, refused] = await outcome(() => check(req, res, 'balances:read'));
      expect(refused).toBe(code);
      expect(callerOf(req)).toBeNull();
    }
  });

  it('refuses with 429 once the local bucket is spent, at once', async () => {
    const { key, row } = keyRow();
    const keys = keysOver([row]);
    const limiter = new RateLimiter({
      rules: { default: { ratePerSecond: 1, burst: 2 } },
      redisUrl: null,
      registry: new client.Registry(),
    });
    const check = accessCheck({ keys: keys.cache, limiter: limitedBy(limiter) });
    const results = [];
    for (let i = 0; i < 4; i++) {
      const { req, res } = request(`Bearer ${key.text}`);
      results.push(await outcome(() => check(req, res, 'balances:read')));
    }
    expect(results).toEqual([
      ['later', null],
      ['now', null],
      ['now', 'rate_limited'],
      ['now', 'rate_limited'],
    ]);
  });

  it('waits for a limiter that must ask (a lease fetch), and refuses after it', async () => {
    const { key, row } = keyRow();
    const keys = keysOver([row]);
    let allowed = true;
    const later: AccessLimiter = {
      take: async (): Promise<LimitVerdict> => ({ allowed, headers: { 'retry-after': '1' } }),
    };
    const check = accessCheck({ keys: keys.cache, limiter: later });
    const warm = request(`Bearer ${key.text}`);
    await check(warm.req, warm.res, 'balances:read');
    const ok = request(`Bearer ${key.text}`);
    expect(await outcome(() => check(ok.req, ok.res, 'balances:read'))).toEqual(['later', null]);
    allowed = false;
    const spent = request(`Bearer ${key.text}`);
    expect(await outcome(() => check(spent.req, spent.res, 'balances:read'))).toEqual([
      'later',
      'rate_limited',
    ]);
  });
});

describe('RateLimiter.check', () => {
  it('decides at once from the local buckets, and take() still answers a promise', async () => {
    const registry = new client.Registry();
    const limiter = new RateLimiter({
      rules: { default: { ratePerSecond: 10, burst: 1 } },
      redisUrl: null,
      registry,
    });
    const first = limiter.check('k', 's');
    expect(first).not.toBeInstanceOf(Promise);
    expect((first as { allowed: boolean }).allowed).toBe(true);
    expect(limiter.take('k', 's')).toBeInstanceOf(Promise);
    expect((await limiter.take('k', 's')).allowed).toBe(false);
    const text = await registry.metrics();
    expect(text).toMatch(/decisions_total\{scope="s",outcome="allowed",source="local"\} 1$/m);
    expect(text).toMatch(/decisions_total\{scope="s",outcome="refused",source="local"\} 2$/m);
  });
});
