// k6: journal postings at constant arrival rates — TPS_STEPS (1,000/s, then 2,000/s) for
// TPS_STEP_SECONDS each, then TPS_MAX (the highest rate to hold) for TPS_MAX_SECONDS — 2-line
// journals over ACCOUNTS accounts, HOT_SHARE of them on one hot account (lib/ledger.js). An open
// model: a payments platform offers its rate whatever the server's latency. Thresholds are the
// SLOs: journal errors < ERROR_RATE_MAX and p99 < P99_MS, over the run and at the top rate.
//
// Env (and lib/ledger.js's): TPS_STEPS ("1000,2000"), TPS_STEP_SECONDS (20), TPS_MAX (5000),
// TPS_MAX_SECONDS (60), SMOKE (1: 3 s at 20/s, for `npm test`), ABORT_P99_MS (unset: when set, the
// run stops once the journal p99 passes it — a ramp past the ledger's capacity ends there).
import {
  createAccounts,
  droppedThreshold,
  postJournal,
  sloThresholds,
  SUMMARY_TREND_STATS,
  SYSTEM_TAGS,
  vusFor,
  P99_MS,
} from './lib/ledger.js';

const SMOKE = __ENV.SMOKE === '1';
const STEPS = SMOKE ? [] : (__ENV.TPS_STEPS ?? '1000,2000').split(',').filter(Boolean).map(Number);
const STEP_SECONDS = Number(__ENV.TPS_STEP_SECONDS || 20);
const MAX = SMOKE ? 20 : Number(__ENV.TPS_MAX || 5000);
const MAX_SECONDS = SMOKE ? 3 : Number(__ENV.TPS_MAX_SECONDS || 60);

const scenarios = {};
const thresholds = sloThresholds();
let start = 0;
let offered = 0;
for (const [rate, seconds] of [...STEPS.map((rate) => [rate, STEP_SECONDS]), [MAX, MAX_SECONDS]]) {
  const name = `tps_${rate}`;
  scenarios[name] = {
    executor: 'constant-arrival-rate',
    rate,
    timeUnit: '1s',
    duration: `${seconds}s`,
    startTime: `${start}s`,
    ...vusFor(rate),
  };
  start += seconds;
  offered += rate * seconds;
}
Object.assign(thresholds, droppedThreshold(offered));
// The top rate is the claim: its own p99 threshold, not diluted by the easier steps.
thresholds[`http_req_duration{kind:journal,scenario:tps_${MAX}}`] = [`p(99)<${P99_MS}`];

if (__ENV.ABORT_P99_MS) {
  thresholds['http_req_duration{kind:journal}'].push({
    threshold: `p(99)<${Number(__ENV.ABORT_P99_MS)}`,
    abortOnFail: true,
    delayAbortEval: '5s',
  });
}

export const options = {
  scenarios,
  thresholds,
  summaryTrendStats: SUMMARY_TREND_STATS,
  systemTags: SYSTEM_TAGS,
};

export function setup() {
  createAccounts();
}

export default function () {
  postJournal();
}
