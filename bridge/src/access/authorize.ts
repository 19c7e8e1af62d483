/**
 * The access check every non-public route runs behind (the HTTP room calls it through
 * `HttpApp.authorize`): the bearer key is parsed, found (./key-cache.ts) and its secret compared
 * in constant time; the key must hold the route's scope; then the key's rate limit for that
 * scope is taken. The caller is bound to the request for the routes' tenant checks.
 * Refusals: 401 key_missing / key_invalid, 403 scope_missing, 429 rate_limited (./errors.ts).
 * The key's text is never logged: a refusal names the key by its id at most.
 */
import type http from 'node:http';
import { parseKey, secretMatches } from './api-key';
import { bindCaller, Caller } from './caller';
import { accessError } from './errors';
import type { KeyCache } from './key-cache';
import { keyUsable, type KeyRecord } from './key-store';
import { isScope, type Scope } from './scopes';
import { rateLimitHeaders, type RateLimiter } from './rate-limit';

/** What the check needs of a rate limiter (./rate-limit.ts): one token per request. */
export interface AccessLimiter {
  take(keyId: string, scope: Scope): Promise<{ allowed: boolean; headers: Record<string, string> }>;
}

/** The per-key limiter (./rate-limit.ts) as the check uses it: a decision and its headers. */
export function limitedBy(limiter: RateLimiter): AccessLimiter {
  return {
    take: async (keyId, scope) => {
      const decision = await limiter.take(keyId, scope);
      return { allowed: decision.allowed, headers: rateLimitHeaders(decision) };
    },
  };
}

export interface AccessCheckOptions {
  keys: KeyCache;
  /** Absent: no rate limits. */
  limiter?: AccessLimiter;
  now?: () => Date;
}

/** Compared against when the id is unknown, so an unknown id costs what a wrong secret does. */
const DUMMY_DIGEST = Buffer.alloc(32);

const BEARER = /^Bearer +([^\s]+) *$/i;

export type AccessCheck = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  scope: string,
) => Promise<void>;

export function accessCheck(options: AccessCheckOptions): AccessCheck {
  const now = options.now ?? (() => new Date());
  return async (req, res, scope) => {
    if (!isScope(scope)) throw new Error(`route declares an unknown scope ${scope}`);
    const record = await authenticate(req.headers.authorization, options.keys, now());
    if (!record.scopes.includes(scope)) {
      throw accessError(
        'scope_missing',
        { scope, key: record.id },
        `this route needs scope ${scope}; key ${record.id} has ${record.scopes.join(', ')}`,
      );
    }
    if (options.limiter !== undefined) {
      const { allowed, headers } = await options.limiter.take(record.id, scope);
      if (!allowed)
        throw accessError('rate_limited', { scope, key: record.id }, undefined, headers);
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    }
    bindCaller(req, callerFor(record));
  };
}

/** The usable key the Authorization header presents, or a 401. */
async function authenticate(
  header: string | undefined,
  keys: KeyCache,
  now: Date,
): Promise<KeyRecord> {
  if (header === undefined || header.trim() === '') throw accessError('key_missing');
  const bearer = BEARER.exec(header);
  if (bearer === null) {
    throw accessError('key_invalid', {}, 'the Authorization header must be `Bearer <key>`');
  }
  const presented = parseKey(bearer[1]!);
  if (presented === null) {
    throw accessError('key_invalid', {}, 'the API key is not shaped like lbk_<id>_<secret>');
  }
  const record = await keys.get(presented.id);
  const matches = secretMatches(presented.secret, record?.secretSha256 ?? DUMMY_DIGEST);
  if (record === null || !matches || !keyUsable(record, now)) throw accessError('key_invalid');
  return record;
}

/** One Caller per key record read: a request on a cached key allocates none. */
const callers = new WeakMap<KeyRecord, Caller>();

function callerFor(record: KeyRecord): Caller {
  const known = callers.get(record);
  if (known !== undefined) return known;
  const caller = new Caller(
    record.id,
    new Set(record.scopes),
    record.assets === null ? null : new Set(record.assets),
    record.holders === null ? null : new Set(record.holders),
  );
  callers.set(record, caller);
  return caller;
}
