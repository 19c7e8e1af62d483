/**
 * Per-key rate limits over HTTP: a key that spends its bucket for a scope gets 429 rate_limited
 * with Retry-After and the RateLimit headers, while another key, and the same key on another
 * scope, are still served; answers within the limit carry the headers too. (Refill and the
 * bucket's arithmetic are the limiter's own tests.)
 */
import { call, type Harness, startHarness } from '../../support/http/harness';
import { mintKey } from '../../support/http/keys';

let h: Harness;

beforeAll(async () => {
  // A bucket of 3 refilled at 1 per 100 s: the fourth read is refused however slow the machine.
  // Redis's command timeout raised from 50 ms: on a loaded machine a slow answer would send a
  // check to this instance's local buckets (their own tests), and the counts here are Redis's.
  h = await startHarness({
    RATE_LIMITS: 'default=1000/s:2000,balances:read=0.01/s:3',
    REDIS_COMMAND_TIMEOUT_MS: '2000',
  });
}, 60_000);

afterAll(async () => {
  await h?.dispose();
});

it('a key past its scope limit gets 429 with Retry-After; other keys and scopes are served', async () => {
  const key = await mintKey(h.config.DATABASE_DIRECT_URL);
  const other = await mintKey(h.config.DATABASE_DIRECT_URL);
  const read = (k: string) =>
    call(h.bridge.url, 'GET', `/api/balance/nobody-${h.run}`, undefined, undefined, { key: k });
  const served = [await read(key), await read(key), await read(key)];
  // Within the limit: the route's own answer (404 for an unknown account), with the headers.
  expect(served.map((a) => a.status)).toEqual([404, 404, 404]);
  expect(served[0]!.headers.get('ratelimit-limit')).toBe('3');
  expect(served.map((a) => Number(a.headers.get('ratelimit-remaining')))).toEqual([2, 1, 0]);
  expect(served[0]!.headers.get('ratelimit-policy')).toMatch(/^3;w=\d+$/);

  const limited = await read(key);
  expect(limited.status).toBe(429);
  expect(limited.body.error).toMatchObject({
    code: 'rate_limited',
    field: 'authorization',
    scope: 'balances:read',
  });
  const retryAfter = Number(limited.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(95);
  expect(retryAfter).toBeLessThanOrEqual(100);
  expect(limited.headers.get('ratelimit-remaining')).toBe('0');

  expect((await read(other)).status).toBe(404);
  const otherScope = await call(
    h.bridge.url,
    'GET',
    `/api/accounts/nobody-${h.run}`,
    undefined,
    undefined,
    {
      key,
    },
  );
  expect(otherScope.status).toBe(404);
});
