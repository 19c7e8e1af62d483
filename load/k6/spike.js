// k6: a spike — journals at SPIKE_BASE/s to warm up, SPIKE_RATE/s for SPIKE_SECONDS, then back to
// the base — checking that the ledger absorbs it with no error and p99 < SPIKE_P99_MS.
//
// Env (and lib/ledger.js's): SPIKE_BASE (500), SPIKE_RATE (5000), SPIKE_SECONDS (30),
// SPIKE_WARM_SECONDS (20), SPIKE_COOL_SECONDS (20), SPIKE_P99_MS (500), SPIKE_ERROR_RATE_MAX (0:
// not one error).
import {
  createAccounts,
  postJournal,
  SUMMARY_TREND_STATS,
  SYSTEM_TAGS,
  droppedThreshold,
  vusFor,
} from './lib/ledger.js';

const BASE = Number(__ENV.SPIKE_BASE || 500);
const RATE = Number(__ENV.SPIKE_RATE || 5000);
const SECONDS = Number(__ENV.SPIKE_SECONDS || 30);
const WARM = Number(__ENV.SPIKE_WARM_SECONDS || 20);
const COOL = Number(__ENV.SPIKE_COOL_SECONDS || 20);
const P99_MS = Number(__ENV.SPIKE_P99_MS || 500);
const ERROR_RATE_MAX = Number(__ENV.SPIKE_ERROR_RATE_MAX || 0);

// Three open-model phases back to back, so the report has a row for each: the spike switches on
// and off within a second, as a flash sale or a batch job's release does.
const phase = (rate, seconds, startSeconds) => ({
  executor: 'constant-arrival-rate',
  rate,
  timeUnit: '1s',
  duration: `${seconds}s`,
  startTime: `${startSeconds}s`,
  gracefulStop: '5s',
  ...vusFor(RATE, P99_MS),
});

export const options = {
  scenarios: {
    spike_warm: phase(BASE, WARM, 0),
    spike_peak: phase(RATE, SECONDS, WARM),
    spike_cool: phase(BASE, COOL, WARM + SECONDS),
  },
  thresholds: {
    ...droppedThreshold(BASE * (WARM + COOL) + RATE * SECONDS),
    journal_errors: [ERROR_RATE_MAX === 0 ? 'rate==0' : `rate<${ERROR_RATE_MAX}`],
    'http_req_duration{kind:journal}': [`p(99)<${P99_MS}`],
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
  systemTags: SYSTEM_TAGS,
};

export function setup() {
  createAccounts();
}

export default function () {
  postJournal();
}
