/**
 * The projections the worker runs, in the order they apply a batch (one transaction for all).
 * Append yours; its `name` must be unique and stable (checkpoints and rebuilds use it).
 */
import { JournalStoreProjection } from './journal-store';
import type { Projection } from './projection';

export const PROJECTIONS: Projection[] = [new JournalStoreProjection()];
