/**
 * The read models. Balances, statements and daily summaries follow the ledger's change feed
 * (exact after expiries and raw transfers); the holder dashboard still follows the outcome events.
 */
import type { Projection } from '../projection';
import type { ProjectedChange } from '../changes/feed';
import { accountBalanceProjection } from './account-balance';
import { dailySummaryProjection } from './daily-summary';
import { holderDashboardProjection } from './holder-dashboard';
import { statementProjection } from './statement';

export const CHANGE_READ_MODELS: readonly Projection<ProjectedChange>[] = [
  accountBalanceProjection,
  statementProjection,
  dailySummaryProjection,
];

export const OUTCOME_READ_MODELS: readonly Projection[] = [holderDashboardProjection];

export {
  accountBalanceProjection,
  dailySummaryProjection,
  holderDashboardProjection,
  statementProjection,
};
