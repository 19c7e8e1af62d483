/**
 * The balance token: read-your-writes for balances, across instances.
 *
 * A posting answers with the largest TigerBeetle timestamp of its transfers (ns, decimal), in the
 * header `Balance-Token`. TigerBeetle assigns timestamps in commit order, strictly increasing, so
 * once the transfer stamped T is committed every transfer stamped ≤ T is too. A read that passes
 * the token back is served from a cache level only if the cached value was read from the ledger
 * at a point known to be at or after T; otherwise it goes to the ledger, whose answer follows the
 * client's write. The token is deliberately not the projections' `Consistency-Token`
 * (`p<partition>.o<offset>`, a Kafka position): balances come from the ledger, not PostgreSQL.
 */
import { InvariantError } from '../../../core/assert';
import { U64_MAX } from '../../../ledger/port';

export const BALANCE_TOKEN_HEADER = 'balance-token';
export const BALANCE_TOKEN_QUERY = 'balanceToken';

const DECIMAL_U64 = /^(0|[1-9][0-9]{0,19})$/;

export class BalanceTokenError extends Error {
  override readonly name = 'BalanceTokenError';
  readonly code = 'invalid_balance_token';
}

export function encodeBalanceToken(ledgerTimestampNs: bigint): string {
  if (ledgerTimestampNs < 0n || ledgerTimestampNs > U64_MAX) {
    throw new InvariantError(`ledger timestamp ${ledgerTimestampNs} is not a u64`);
  }
  return ledgerTimestampNs.toString();
}

/** The ledger timestamp in a token; throws BalanceTokenError on anything that is not one. */
export function decodeBalanceToken(token: string): bigint {
  if (!DECIMAL_U64.test(token)) {
    throw new BalanceTokenError(`'${token.slice(0, 64)}' is not a balance token`);
  }
  const value = BigInt(token);
  if (value > U64_MAX) throw new BalanceTokenError(`'${token}' is not a balance token`);
  return value;
}

/** What a posting changed: the touched accounts and the token of the change. */
export interface BalanceChange {
  ledgerIds: bigint[];
  /** The largest transfer timestamp: the posting's balance token. */
  ledgerTimestampNs: bigint;
}

/**
 * The accounts a committed chain touched and its token, from the transfers as the ledger holds
 * them (with their timestamps). Call only for chains that committed (created or exists).
 */
export function balanceChange(
  transfers: readonly { debit_account_id: bigint; credit_account_id: bigint; timestamp: bigint }[],
): BalanceChange {
  const ids = new Set<bigint>();
  let ledgerTimestampNs = 0n;
  for (const transfer of transfers) {
    ids.add(transfer.debit_account_id);
    ids.add(transfer.credit_account_id);
    if (transfer.timestamp > ledgerTimestampNs) ledgerTimestampNs = transfer.timestamp;
  }
  if (transfers.length > 0 && ledgerTimestampNs === 0n) {
    throw new InvariantError('committed transfers without a ledger timestamp');
  }
  return { ledgerIds: [...ids], ledgerTimestampNs };
}
