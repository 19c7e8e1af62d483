/** The read models, in the order the runner applies them (append to PROJECTIONS). */
import type { Projection } from '../projection';
import { accountBalanceProjection } from './account-balance';
import { dailySummaryProjection } from './daily-summary';
import { holderDashboardProjection } from './holder-dashboard';
import { statementProjection } from './statement';

export const READ_MODELS: readonly Projection[] = [
  accountBalanceProjection,
  statementProjection,
  dailySummaryProjection,
  holderDashboardProjection,
];

export {
  accountBalanceProjection,
  dailySummaryProjection,
  holderDashboardProjection,
  statementProjection,
};
