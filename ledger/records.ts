/**
 * New Account and Transfer events with every field TigerBeetle requires zero at creation already
 * zero, so callers state only what they mean (ids, ledger, code, amounts, flags).
 */
import type { Account, Transfer } from './port';

export function newAccount(
  fields: Pick<Account, 'id' | 'ledger' | 'code'> & Partial<Account>,
): Account {
  return {
    debits_pending: 0n,
    debits_posted: 0n,
    credits_pending: 0n,
    credits_posted: 0n,
    user_data_128: 0n,
    user_data_64: 0n,
    user_data_32: 0,
    reserved: 0,
    flags: 0,
    timestamp: 0n,
    ...fields,
  };
}

export function newTransfer(
  fields: Pick<
    Transfer,
    'id' | 'debit_account_id' | 'credit_account_id' | 'amount' | 'ledger' | 'code'
  > &
    Partial<Transfer>,
): Transfer {
  return {
    pending_id: 0n,
    user_data_128: 0n,
    user_data_64: 0n,
    user_data_32: 0,
    timeout: 0,
    flags: 0,
    timestamp: 0n,
    ...fields,
  };
}
