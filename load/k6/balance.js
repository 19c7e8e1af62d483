// k6: balance reads at READ_RATE/s while journals post at WRITE_RATE/s, both for BALANCE_SECONDS:
// the read SLO (p95 < P95_READ_MS) must hold while balances change underneath it, and postings
// keep theirs. Reads pick a random account, the hot one with HOT_SHARE.
//
// Env (and lib/ledger.js's): READ_RATE (5000), WRITE_RATE (1000), BALANCE_SECONDS (60).
import {
  createAccounts,
  postJournal,
  readBalance,
  sloThresholds,
  SUMMARY_TREND_STATS,
  SYSTEM_TAGS,
  droppedThreshold,
  vusFor,
} from './lib/ledger.js';

const READ_RATE = Number(__ENV.READ_RATE || 5000);
const WRITE_RATE = Number(__ENV.WRITE_RATE || 1000);
const SECONDS = Number(__ENV.BALANCE_SECONDS || 60);

export const options = {
  scenarios: {
    reads: {
      executor: 'constant-arrival-rate',
      exec: 'read',
      rate: READ_RATE,
      timeUnit: '1s',
      duration: `${SECONDS}s`,
      ...vusFor(READ_RATE),
    },
    postings: {
      executor: 'constant-arrival-rate',
      exec: 'post',
      rate: WRITE_RATE,
      timeUnit: '1s',
      duration: `${SECONDS}s`,
      ...vusFor(WRITE_RATE),
    },
  },
  thresholds: {
    ...sloThresholds({ journals: true, balances: true }),
    ...droppedThreshold((READ_RATE + WRITE_RATE) * SECONDS),
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
  systemTags: SYSTEM_TAGS,
};

export function setup() {
  createAccounts();
}

export function read() {
  readBalance();
}

export function post() {
  postJournal();
}
