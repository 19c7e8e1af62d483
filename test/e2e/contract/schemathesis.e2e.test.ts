/**
 * Proves the running API keeps its contract under fuzzing: Schemathesis (load/fuzz/) generates
 * requests from /openapi.json for every operation — examples, coverage, fuzzing and stateful
 * phases, bounded (CI_PROFILE) — once with a key holding every scope and once without, against a
 * whole bridge on the local stack (the tests' database, emptied first). It fails on any 5xx, any
 * response the contract does not describe (status, content type, headers, body), a keyed route
 * that answers without a key, or a run with no test cases. The seed is printed; SEED= replays it.
 */
import { CI_PROFILE, fuzzContract, table } from '../../../load/fuzz/main';

const SEED = Number(process.env.SEED ?? Math.floor(Math.random() * 1_000_000));
/** Two bounded runs (60 s each) plus a bridge start and the key's CLI. */
const TEST_TIMEOUT_MS = 300_000;

test(
  `Schemathesis finds no 5xx and no answer outside the contract [replay: SEED=${SEED}]`,
  async () => {
    const rounds = await fuzzContract(CI_PROFILE, { database: 'ledger_test', seed: SEED });
    console.log(`seed ${SEED} (SEED=${SEED} replays it)\n${table(rounds)}`);
    expect(rounds.map((round) => round.label)).toEqual(['with-key-1', 'without-key']);
    expect(rounds.flatMap((round) => round.problems.map((p) => `${round.label}: ${p}`))).toEqual(
      [],
    );
    for (const round of rounds) expect(round.summary.cases).toBeGreaterThan(100);
  },
  TEST_TIMEOUT_MS,
);
