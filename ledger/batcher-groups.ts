/**
 * What the batcher takes, and where each submission may ride (ledger/batcher.ts).
 *
 * Two kinds share its requests: a journal's linked chain (built by the bridge, so a malformed one
 * is our bug) and a raw request's transfers as the client sent them through
 * POST /api/transfers/batch (independent transfers and linked chains in any mix, checked only for
 * their wire ranges: what TigerBeetle refuses in them is its per-event verdict, a value).
 *
 * Either is kept contiguous, in order, in one request, and answered with its own slice of the
 * results. That alone gives a raw request the answer it would get in a request of its own, unless
 * something in it depends on its place in the request; then it goes alone (`rawPlacement`).
 */
import { type Transfer, TransferFlags } from './port';

/** Journals' chains and raw requests: counted apart in the batcher's stats and metrics. */
export type SubmissionKind = 'journal' | 'raw';
export const SUBMISSION_KINDS: readonly SubmissionKind[] = ['journal', 'raw'];

/** `shared`: beside other submissions in a request; `alone`: in a request of its own. */
export type Placement = 'shared' | 'alone';

/**
 * A raw request rides beside others unless TigerBeetle would read it differently there:
 * - its last transfer is linked: the chain is open, and beside others it would link into the
 *   next submission (failing it, or being failed by it); alone, TigerBeetle answers
 *   `linked_event_chain_open` as it did before the batcher;
 * - any transfer is `imported`: a request's first event decides whether the whole request
 *   imports (the others get `imported_event_expected` / `_not_expected`), and imported
 *   timestamps must precede the request's own.
 */
export function rawPlacement(events: readonly Transfer[]): Placement {
  const last = events.length - 1;
  if (last >= 0 && (events[last]!.flags & TransferFlags.linked) !== 0) return 'alone';
  for (let i = 0; i <= last; i++) {
    if ((events[i]!.flags & TransferFlags.imported) !== 0) return 'alone';
  }
  return 'shared';
}

/**
 * A journal's chain must close its own link: a last transfer still linked would chain into the
 * next journal in the request (and fail it, or be failed by it), and a missing link in the
 * middle would let half a journal post.
 */
export function assertChainLinks(chain: readonly Transfer[]): void {
  const last = chain.length - 1;
  if (last < 0) throw new Error('TransferBatcher.submit: an empty chain');
  for (let i = 0; i < last; i++) {
    if ((chain[i]!.flags & TransferFlags.linked) === 0) {
      throw new Error(
        `TransferBatcher.submit: transfer ${i} of a chain of ${chain.length} lacks the linked flag`,
      );
    }
  }
  if ((chain[last]!.flags & TransferFlags.linked) !== 0) {
    throw new Error(
      `TransferBatcher.submit: the last transfer of a chain of ${chain.length} carries the ` +
        'linked flag (the chain would stay open into its neighbour)',
    );
  }
}

export function assertIntegerIn(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}
