/**
 * The projections the worker runs, per feed, in the order they apply a batch (one transaction for
 * all of a feed's). Append yours to its feed; its `name` must be unique across both feeds and
 * stable (checkpoints and rebuilds use it).
 */
import { ledgerChangeProjection } from './changes/store';
import type { ProjectedChange } from './changes/feed';
import { changeChainProjection, hashChainProjection } from './hash-chain/projection';
import { JournalStoreProjection } from './journal/projection';
import type { Projection } from './projection';
import { CHANGE_READ_MODELS, OUTCOME_READ_MODELS } from './read-models';

/** From the bridge's outcome events: journal metadata, its chain, the holder dashboard. */
export const OUTCOME_PROJECTIONS: Projection[] = [
  new JournalStoreProjection(),
  hashChainProjection,
  ...OUTCOME_READ_MODELS,
];

/** From the ledger's change feed: every ledger event, its chain, balances and statements. */
export const CHANGE_PROJECTIONS: Projection<ProjectedChange>[] = [
  ledgerChangeProjection,
  changeChainProjection,
  ...CHANGE_READ_MODELS,
];
