/**
 * Examples in the contract: two USD accounts of one holder, a journal between them and a hold.
 * They document the shapes, and the fuzz runner (load/fuzz/) posts the account and journal
 * examples before Schemathesis starts, so that its example phase reads real accounts, journals
 * and holds instead of 404s. Every example is a request the API accepts (the runner fails if not).
 */
import type { CreateAccountInput } from '../accounts/validation';
import type { JournalBody } from '../journal/schema';

export const EXAMPLE_CASH = 'example-cash-usd';
export const EXAMPLE_REVENUE = 'example-revenue-usd';
export const EXAMPLE_JOURNAL = 'example-journal-1';
export const EXAMPLE_HOLD = 'example-hold-1';

export const ACCOUNT_EXAMPLES: Record<string, CreateAccountInput> = {
  cash: {
    accountId: EXAMPLE_CASH,
    name: 'Operating cash (USD)',
    holderId: 'example-merchant',
    accountType: 'asset',
    asset: 'USD',
    flags: { mustNotGoNegative: false },
    metadata: { region: 'us-east' },
  },
  revenue: {
    accountId: EXAMPLE_REVENUE,
    name: 'Card revenue (USD)',
    holderId: 'example-merchant',
    accountType: 'revenue',
    asset: 'USD',
  },
};

const lines = (amount: number | string): JournalBody['lines'] => [
  { accountId: EXAMPLE_CASH, lineType: 'DEBIT', amount, lineNumber: 1 },
  { accountId: EXAMPLE_REVENUE, lineType: 'CREDIT', amount, lineNumber: 2 },
];

export const JOURNAL_EXAMPLES: Record<string, JournalBody> = {
  posted: {
    journalId: EXAMPLE_JOURNAL,
    date: '2026-11-22',
    description: 'Card payment, order 1042',
    source: 'checkout',
    lines: lines(1250),
  },
  hold: {
    journalId: EXAMPLE_HOLD,
    date: '2026-11-22T10:15:00Z',
    description: 'Authorisation, order 1043',
    source: 'checkout',
    lines: lines('4999'),
    pending: { timeoutSeconds: 3600 },
  },
};
