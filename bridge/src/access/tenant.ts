/**
 * Tenant isolation on the routes: a key restricted to some assets or holders may read and move
 * money only on accounts of those. Unrestricted keys (the common case) cost nothing here: no
 * lookup is made. For a restricted key an account the deployment does not know is refused like
 * another tenant's, so a key cannot probe which accounts exist.
 */
import type http from 'node:http';
import { callerOf, type TenantFacts } from './caller';

/** Where the routes' accounts are found (the account control plane). */
export interface TenantDirectory {
  resolveAccounts(accountIds: string[]): Promise<ReadonlyMap<string, TenantFacts>>;
  resolveLedgerAccounts(ledgerIds: bigint[]): Promise<ReadonlyMap<bigint, TenantFacts>>;
}

export interface Touch<Id> {
  id: Id;
  /** Where the request names the account, for the refusal (`lines[2].accountId`). */
  field: string;
}

/** Throws key_restricted for the first account the request's key may not touch. */
export function requireTouchAccounts(
  req: http.IncomingMessage,
  directory: TenantDirectory,
  touches: ReadonlyArray<Touch<string>>,
): Promise<void> {
  return requireTouch(req, (ids) => directory.resolveAccounts(ids), touches);
}

/** The same, for TigerBeetle account ids (raw transfers, a hold's transfers). */
export function requireTouchLedgerAccounts(
  req: http.IncomingMessage,
  directory: TenantDirectory,
  touches: ReadonlyArray<Touch<bigint>>,
): Promise<void> {
  return requireTouch(req, (ids) => directory.resolveLedgerAccounts(ids), touches);
}

/**
 * Whether the request's key is restricted (a lookup may refuse it): a route on the read path may
 * skip the call, and its promise, for an unrestricted key, which the check would pass anyway.
 */
export function touchCheckNeeded(req: http.IncomingMessage): boolean {
  return callerOf(req)?.restricted === true;
}

async function requireTouch<Id>(
  req: http.IncomingMessage,
  resolve: (ids: Id[]) => Promise<ReadonlyMap<Id, TenantFacts>>,
  touches: ReadonlyArray<Touch<Id>>,
): Promise<void> {
  const caller = callerOf(req);
  if (caller === null || !caller.restricted || touches.length === 0) return;
  const found = await resolve([...new Set(touches.map((t) => t.id))]);
  for (const { id, field } of touches) caller.requireTouch(found.get(id) ?? UNKNOWN, field);
}

/** No restricted key may touch an account the deployment does not know. */
const UNKNOWN: TenantFacts = { asset: '(unknown account)', holderId: '(unknown account)' };
