/** GET /api/balance/:accountId — the account's balances, read from the ledger. */
import type { AccountService } from '../../accounts/service';
import type { AccountRecord } from '../../accounts/model';
import { balanceView, type BalanceView } from '../../balances/view';
import type { Ledger } from '../../ledger/port';
import { ApiError } from '../api-error';
import { sendJson } from '../respond';
import type { Router } from '../router';

export async function readBalance(
  accounts: AccountService,
  ledger: Ledger,
  accountId: string,
): Promise<{ record: AccountRecord; balance: BalanceView }> {
  const record = await accounts.requireAccount(accountId);
  const [account] = await ledger.lookupAccounts([record.ledgerId]);
  if (account === undefined) {
    // The metadata row exists but its ledger account does not: an account creation that was
    // interrupted; the client's retry of POST /api/accounts completes it.
    throw new ApiError(
      409,
      'account_incomplete',
      `account '${accountId}' has no ledger account yet; retry its creation`,
      { field: 'accountId' },
    );
  }
  return { record, balance: balanceView(record, account) };
}

export function balanceRoutes(router: Router, accounts: AccountService, ledger: Ledger): void {
  router.on('GET', '/api/balance/:accountId', async ({ res, params }) => {
    const { balance } = await readBalance(accounts, ledger, params[0]!);
    sendJson(res, 200, balance);
  });
}
