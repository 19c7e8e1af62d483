/**
 * Shrinks a diverging run to a small reproducer: the fewest earlier steps, then the fewest events
 * and reads in the failing step, that still diverge.
 *
 * Every trial replays its steps against a fresh engine and fresh ids and ledger numbers on the
 * cluster (the caller's `trial`), so trials never see each other's objects. Removal is greedy in
 * halving chunks (delta debugging): a removal is kept when the trial still diverges, anywhere —
 * the sequence is then cut after the step where it did. A time budget bounds the search; what is
 * left when it runs out is still a reproducer, only a larger one.
 */
import type { Divergence, Step } from './model';

export type Trial = (steps: Step[]) => Promise<Divergence | null>;

export interface Shrunk {
  steps: Step[];
  divergence: Divergence;
  trials: number;
  /** False when even the unshrunk prefix did not diverge again (a timing-dependent failure). */
  reproduced: boolean;
}

class Search {
  trials = 0;
  private readonly deadlineMs: number;

  constructor(
    private readonly trial: Trial,
    budgetMs: number,
    public steps: Step[],
    public divergence: Divergence,
  ) {
    this.deadlineMs = Date.now() + budgetMs;
  }

  get outOfTime(): boolean {
    return Date.now() > this.deadlineMs;
  }

  /** Runs `candidate`; keeps it (cut after its diverging step) if it diverges. */
  async attempt(candidate: Step[]): Promise<boolean> {
    if (this.outOfTime || candidate.length === 0) return false;
    this.trials += 1;
    const divergence = await this.trial(candidate);
    if (divergence === null) return false;
    this.steps = candidate.slice(0, divergence.step + 1);
    this.divergence = divergence;
    return true;
  }

  /** Removes chunks of `items(steps)` while the run still diverges. */
  async reduce<T>(
    items: (steps: Step[]) => T[],
    rebuild: (steps: Step[], kept: T[]) => Step[],
    keepMin: number,
  ): Promise<void> {
    let chunk = Math.ceil(items(this.steps).length / 2);
    while (chunk >= 1 && !this.outOfTime) {
      let start = 0;
      while (start < items(this.steps).length && !this.outOfTime) {
        const all = items(this.steps);
        const kept = [...all.slice(0, start), ...all.slice(start + chunk)];
        if (kept.length < keepMin || !(await this.attempt(rebuild(this.steps, kept)))) {
          start += chunk;
        }
      }
      chunk = Math.floor(chunk / 2);
    }
  }
}

const last = (steps: Step[]): Step => steps[steps.length - 1]!;

/** The failing step with other events or reads. */
function withLast(steps: Step[], change: Partial<Step>): Step[] {
  return [...steps.slice(0, -1), { ...last(steps), ...change } as Step];
}

/** Step `index` with other events (an index past the end leaves the steps as they are). */
function withEvents(steps: Step[], index: number, events: unknown[]): Step[] {
  return steps.map((s, i) => (i === index ? ({ ...s, events } as Step) : s));
}

export async function shrink(
  steps: Step[],
  original: Divergence,
  trial: Trial,
  budgetMs: number,
): Promise<Shrunk> {
  const prefix = steps.slice(0, original.step + 1);
  const search = new Search(trial, budgetMs, prefix, original);
  if (!(await search.attempt(prefix))) {
    return { steps: prefix, divergence: original, trials: search.trials, reproduced: false };
  }
  // Reads change nothing: drop those of earlier steps, and those after a failing create.
  await search.attempt(
    search.steps.map((s, i, all) => (i < all.length - 1 ? { ...s, reads: [] } : s)),
  );
  if (search.divergence.at === 'create')
    await search.attempt(withLast(search.steps, { reads: [] }));
  // The failing step alone, then the fewest earlier steps.
  await search.attempt([last(search.steps)]);
  await search.reduce(
    (s) => s.slice(0, -1),
    (s, kept) => [...kept, last(s)],
    0,
  );
  // The fewest events, in every step, the failing one first.
  for (let back = 1; back <= search.steps.length && !search.outOfTime; back++) {
    const index = search.steps.length - back;
    await search.reduce(
      (s) => (s[index]?.events ?? []) as unknown[],
      (s, kept) => withEvents(s, index, kept),
      0,
    );
  }
  await search.reduce(
    (s) => last(s).reads,
    (s, kept) => withLast(s, { reads: kept }),
    0,
  );
  const { steps: shrunk, divergence, trials } = search;
  return { steps: shrunk, divergence, trials, reproduced: true };
}
