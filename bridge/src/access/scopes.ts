/**
 * What an API key may do. Each route declares the one scope it needs (bridge/src/api.ts and the
 * feature route files); a key holds a set of them.
 */
export const SCOPES = [
  'journals:write',
  'journals:read',
  'balances:read',
  'accounts:write',
  'accounts:read',
  'holds:write',
  /** POST /api/transfers/batch: TigerBeetle transfers with no journal around them. */
  'ledger:raw',
  'monitor:read',
  /** Creating assets and account types. */
  'registry:write',
] as const;

export type Scope = (typeof SCOPES)[number];

const KNOWN = new Set<string>(SCOPES);

export function isScope(text: string): text is Scope {
  return KNOWN.has(text);
}

/**
 * `journals:write,balances:read`, or `all` for every scope. Unknown names are refused, naming
 * them, and so are duplicates: a typo must not create a key with less than was meant.
 */
export function parseScopes(text: string): Scope[] {
  if (text.trim() === 'all') return [...SCOPES];
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0) throw new Error('scopes: name at least one scope, or `all`');
  const unknown = names.filter((name) => !isScope(name));
  if (unknown.length > 0) {
    throw new Error(`scopes: unknown ${unknown.join(', ')} (known: ${SCOPES.join(', ')}, all)`);
  }
  if (new Set(names).size !== names.length) throw new Error('scopes: a scope is named twice');
  return names as Scope[];
}
