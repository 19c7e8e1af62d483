/**
 * Who is asking: the API key a request was authorised with, bound to the request so the routes
 * that must enforce tenant isolation can ask whether the key may touch an account. Bound with a
 * WeakMap, so nothing is added to the request object and nothing outlives it.
 */
import type http from 'node:http';
import type { Scope } from './scopes';
import { accessError } from './errors';

/** What tenant isolation looks at on an account. */
export interface TenantFacts {
  asset: string;
  holderId: string;
}

export class Caller {
  constructor(
    readonly keyId: string,
    readonly scopes: ReadonlySet<Scope>,
    /** Null: every asset. */
    readonly assets: ReadonlySet<string> | null,
    /** Null: every holder. */
    readonly holders: ReadonlySet<string> | null,
  ) {}

  get restricted(): boolean {
    return this.assets !== null || this.holders !== null;
  }

  mayTouch(account: TenantFacts): boolean {
    return (
      (this.assets === null || this.assets.has(account.asset)) &&
      (this.holders === null || this.holders.has(account.holderId))
    );
  }

  /**
   * Throws 403 key_restricted unless the key may touch the account. `field` names where the
   * request names the account; or, per fact, where it names the asset and the holder.
   */
  requireTouch(account: TenantFacts, field: string | { asset: string; holderId: string }): void {
    if (this.mayTouch(account)) return;
    if (typeof field !== 'string') {
      const assetRefused = this.assets !== null && !this.assets.has(account.asset);
      field = assetRefused ? field.asset : field.holderId;
    }
    throw accessError(
      'key_restricted',
      { field, key: this.keyId },
      `${field}: the API key may not touch an account of asset ${account.asset} ` +
        `held by ${account.holderId}`,
    );
  }
}

const callers = new WeakMap<http.IncomingMessage, Caller>();

export function bindCaller(req: http.IncomingMessage, caller: Caller): void {
  callers.set(req, caller);
}

/** The request's caller; null on a public route (or a router used without the access check). */
export function callerOf(req: http.IncomingMessage): Caller | null {
  return callers.get(req) ?? null;
}

/** Throws key_restricted naming `field` when the request's key may not touch the account. */
export function requireTouch(
  req: http.IncomingMessage,
  account: TenantFacts,
  field: string | { asset: string; holderId: string },
): void {
  callerOf(req)?.requireTouch(account, field);
}
