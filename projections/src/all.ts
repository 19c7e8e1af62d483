/**
 * The projections the worker runs, in the order they apply a batch (one transaction for all).
 * Append yours; its `name` must be unique and stable (checkpoints and rebuilds use it).
 */
import { hashChainProjection } from './hash-chain/projection';
import { JournalStoreProjection } from './journal/projection';
import type { Projection } from './projection';
import { READ_MODELS } from './read-models';

export const PROJECTIONS: Projection[] = [
  new JournalStoreProjection(),
  hashChainProjection,
  ...READ_MODELS,
];
