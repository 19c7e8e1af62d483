// k6: the specification's own mix — users ramp to MIXED_VUS (1,000); each iteration reads a
// balance, posts a journal, then thinks for MIXED_THINK_SECONDS — so about MIXED_VUS journals/s
// and as many reads at the plateau. A closed model, as the specification wrote it.
//
// Env (and lib/ledger.js's): MIXED_VUS (1000), MIXED_RAMP_SECONDS (30), MIXED_HOLD_SECONDS (60),
// MIXED_THINK_SECONDS (1).
import { sleep } from 'k6';
import {
  createAccounts,
  postJournal,
  readBalance,
  sloThresholds,
  SUMMARY_TREND_STATS,
  SYSTEM_TAGS,
} from './lib/ledger.js';

const VUS = Number(__ENV.MIXED_VUS || 1000);
const RAMP = Number(__ENV.MIXED_RAMP_SECONDS || 30);
const HOLD = Number(__ENV.MIXED_HOLD_SECONDS || 60);
const THINK = Number(__ENV.MIXED_THINK_SECONDS || 1);

export const options = {
  scenarios: {
    mixed: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { target: VUS, duration: `${RAMP}s` },
        { target: VUS, duration: `${HOLD}s` },
        { target: 0, duration: '10s' },
      ],
      gracefulRampDown: '5s',
    },
  },
  thresholds: sloThresholds({ journals: true, balances: true }),
  summaryTrendStats: SUMMARY_TREND_STATS,
  systemTags: SYSTEM_TAGS,
};

export function setup() {
  createAccounts();
}

export default function () {
  readBalance();
  postJournal();
  sleep(THINK);
}
