/**
 * Rate limit rules per scope, as written in RATE_LIMITS: comma-separated `<scope>=<rate>/s:<burst>`
 * entries, e.g. `default=1000/s:2000,journals:write=20000/s:40000`. `default` is required: it
 * limits every scope the text does not list, so a scope added later is never unlimited.
 *
 * A rule is a token bucket: it holds at most `burst` tokens, refills `ratePerSecond` a second,
 * and each request takes its cost (one by default). Bad text throws a RateLimitRulesError naming
 * the offending entry, so a typo stops the start instead of silently limiting wrong.
 */

export interface RateLimitRule {
  /** Tokens added a second: the sustained rate a key may keep up. */
  ratePerSecond: number;
  /** Tokens the bucket holds at most: how many requests a key may send at once after a pause. */
  burst: number;
}

/** The rule of every scope the rules do not list. */
export const DEFAULT_SCOPE = 'default';

/** Limits on a rule's numbers, so a typo of a few digits is caught rather than obeyed. */
export const RATE_PER_SECOND_MAX = 1_000_000_000;
export const BURST_MAX = 1_000_000_000_000;

/** Scopes as API keys name them: `journals:write`, `ledger:raw`, … */
const SCOPE = /^[a-z][a-z0-9_-]*(?::[a-z0-9_-]+)*$/;
const RATE = /^(\d+(?:\.\d+)?)\/s$/;
const BURST = /^\d+$/;

export type RateLimitRulesErrorCode = 'rate_limit_rules_invalid';

/** RATE_LIMITS text that cannot be read; `entry` is the offending entry as written. */
export class RateLimitRulesError extends Error {
  override readonly name = 'RateLimitRulesError';
  readonly code: RateLimitRulesErrorCode = 'rate_limit_rules_invalid';

  constructor(
    readonly entry: string,
    readonly reason: string,
  ) {
    super(`rate limit rule "${entry}": ${reason}`);
  }
}

/**
 * The rules in `text`. With `knownScopes`, a scope outside them is refused too: a misspelt scope
 * would otherwise leave the real one under the default rule without a word.
 */
export function parseRateLimitRules(
  text: string,
  knownScopes?: readonly string[],
): Record<string, RateLimitRule> {
  const rules: Record<string, RateLimitRule> = {};
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    const [scope, rule] = parseEntry(entry);
    if (Object.hasOwn(rules, scope)) throw new RateLimitRulesError(entry, 'scope listed twice');
    if (knownScopes !== undefined && scope !== DEFAULT_SCOPE && !knownScopes.includes(scope)) {
      throw new RateLimitRulesError(entry, `unknown scope (known: ${knownScopes.join(', ')})`);
    }
    rules[scope] = rule;
  }
  if (!Object.hasOwn(rules, DEFAULT_SCOPE)) {
    throw new RateLimitRulesError(text, `lists no "${DEFAULT_SCOPE}" rule (for unlisted scopes)`);
  }
  return rules;
}

function parseEntry(entry: string): [string, RateLimitRule] {
  const invalid = (reason: string) => new RateLimitRulesError(entry, reason);
  const equals = entry.indexOf('=');
  // The rate's part never holds ':', so the last one separates it from the burst.
  const limits = entry.slice(equals + 1).trim();
  const colon = limits.lastIndexOf(':');
  if (entry === '') throw invalid('empty entry');
  if (equals < 0 || colon < 0) throw invalid('must be <scope>=<rate>/s:<burst>');
  const scope = entry.slice(0, equals).trim();
  if (!SCOPE.test(scope)) throw invalid('scope must be lowercase words joined by ":"');
  const rate = RATE.exec(limits.slice(0, colon).trim());
  if (rate === null) throw invalid('rate must be a decimal number a second, e.g. 500/s');
  const ratePerSecond = Number(rate[1]);
  if (!(ratePerSecond > 0 && ratePerSecond <= RATE_PER_SECOND_MAX)) {
    throw invalid(`rate must be above 0 and at most ${RATE_PER_SECOND_MAX}/s`);
  }
  const burstText = limits.slice(colon + 1).trim();
  const burst = BURST.test(burstText) ? Number(burstText) : NaN;
  // A bucket of less than one token would refuse every request.
  if (!(burst >= 1 && burst <= BURST_MAX)) {
    throw invalid(`burst must be an integer from 1 to ${BURST_MAX}`);
  }
  return [scope, { ratePerSecond, burst }];
}

/** The text parseRateLimitRules reads back to the same rules; `default` first, then by scope. */
export function formatRateLimitRules(rules: Readonly<Record<string, RateLimitRule>>): string {
  const scopes = Object.keys(rules).sort((a, b) =>
    a === DEFAULT_SCOPE ? -1 : b === DEFAULT_SCOPE ? 1 : a < b ? -1 : a > b ? 1 : 0,
  );
  return scopes
    .map((scope) => `${scope}=${String(rules[scope]!.ratePerSecond)}/s:${rules[scope]!.burst}`)
    .join(',');
}

/** The rule that limits `scope`: its own, else the default (parseRateLimitRules requires one). */
export function ruleFor(
  rules: Readonly<Record<string, RateLimitRule>>,
  scope: string,
): RateLimitRule {
  return (Object.hasOwn(rules, scope) ? rules[scope] : undefined) ?? rules[DEFAULT_SCOPE]!;
}
