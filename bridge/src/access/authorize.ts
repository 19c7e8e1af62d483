/**
 * The access check every non-public route runs behind (the HTTP room calls it through
 * `HttpApp.authorize`): the bearer key is parsed, found (./key-cache.ts) and its secret compared
 * in constant time; the key must hold the route's scope; then the key's rate limit for that
 * scope is taken. The caller is bound to the request for the routes' tenant checks.
 * Refusals: 401 key_missing / key_invalid, 403 scope_missing, 429 rate_limited (./errors.ts).
 * The key's text is never logged: a refusal names the key by its id at most.
 */
import type http from 'node:http';
import { parseKey, type PresentedKey, secretMatches } from './api-key';
import { bindCaller, Caller } from './caller';
import { accessError } from './errors';
import type { KeyCache } from './key-cache';
import { keyUsableAt, type KeyRecord } from './key-store';
import { isScope, type Scope } from './scopes';
import { type RateLimitDecision, rateLimitHeaders, type RateLimiter } from './rate-limit';

/** What the check needs of a rate limiter (./rate-limit.ts): one token per request. */
export interface AccessLimiter {
  /** A decision at once when none needs I/O (the common case), else a promise of one. */
  take(keyId: string, scope: Scope): LimitVerdict | Promise<LimitVerdict>;
}

export interface LimitVerdict {
  allowed: boolean;
  headers: Record<string, string>;
}

function verdictOf(decision: RateLimitDecision): LimitVerdict {
  return { allowed: decision.allowed, headers: rateLimitHeaders(decision) };
}

/** The per-key limiter (./rate-limit.ts) as the check uses it: a decision and its headers. */
export function limitedBy(limiter: RateLimiter): AccessLimiter {
  return {
    take: (keyId, scope) => {
      const decision = limiter.check(keyId, scope);
      return decision instanceof Promise ? decision.then(verdictOf) : verdictOf(decision);
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

/**
 * Judges a request for a route that needs `scope`: returns once it may go on (nothing to wait
 * for: the key was cached and the limiter decided from its lease), or a promise that resolves
 * then; a refusal is thrown, or the promise rejects with it.
 */
export type AccessCheck = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  scope: string,
) => void | Promise<void>;

/**
 * The check. Every request still proves its key (the secret hashed and compared in constant time
 * against the stored digest), holds the scope and takes a token; what it skips when it can is
 * waiting: a key read within ACCESS_KEY_CACHE_TTL_MS and a token from this instance's lease are
 * answered without a promise, so the route runs in the same turn.
 */
export function accessCheck(options: AccessCheckOptions): AccessCheck {
  const nowMs = options.now === undefined ? Date.now : () => options.now!().getTime();
  const admit = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    scope: Scope,
    presented: PresentedKey,
    record: KeyRecord | null,
  ): void | Promise<void> => {
    const usable = verified(presented, record, nowMs());
    if (!usable.scopes.includes(scope)) {
      throw accessError(
        'scope_missing',
        { scope, key: usable.id },
        `this route needs scope ${scope}; key ${usable.id} has ${usable.scopes.join(', ')}`,
      );
    }
    if (options.limiter === undefined) {
      bindCaller(req, callerFor(usable));
      return;
    }
    const verdict = options.limiter.take(usable.id, scope);
    if (verdict instanceof Promise) {
      return verdict.then((v) => limited(req, res, scope, usable, v));
    }
    limited(req, res, scope, usable, verdict);
  };
  return (req, res, scope) => {
    if (!isScope(scope)) throw new Error(`route declares an unknown scope ${scope}`);
    const presented = presentedKey(req.headers.authorization);
    const cached = options.keys.peek(presented.id);
    if (cached !== undefined) return admit(req, res, scope, presented, cached);
    return options.keys
      .get(presented.id)
      .then((record) => admit(req, res, scope, presented, record));
  };
}

/** Refuses when the limiter did; else sets its headers and binds the caller. */
function limited(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  scope: Scope,
  record: KeyRecord,
  verdict: LimitVerdict,
): void {
  if (!verdict.allowed) {
    throw accessError('rate_limited', { scope, key: record.id }, undefined, verdict.headers);
  }
  for (const name in verdict.headers) res.setHeader(name, verdict.headers[name]!);
  bindCaller(req, callerFor(record));
}

/** The key the Authorization header presents, or a 401. */
function presentedKey(header: string | undefined): PresentedKey {
  if (header === undefined || header.trim() === '') throw accessError('key_missing');
  const bearer = BEARER.exec(header);
  if (bearer === null) {
    throw accessError('key_invalid', {}, 'the Authorization header must be `Bearer <key>`');
  }
  const presented = parseKey(bearer[1]!);
  if (presented === null) {
    throw accessError('key_invalid', {}, 'the API key is not shaped like lbk_<id>_<secret>');
  }
  return presented;
}

/** The record, once the presented secret matches it and it is usable at `nowMs`; else a 401. */
function verified(presented: PresentedKey, record: KeyRecord | null, nowMs: number): KeyRecord {
  const matches = secretMatches(presented.secret, record?.secretSha256 ?? DUMMY_DIGEST);
  if (record === null || !matches || !keyUsableAt(record, nowMs)) throw accessError('key_invalid');
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
