// k6: journal postings at a constant arrival rate, holding 1,000/s, then 2,000/s, then the
// highest rate asked for (TPS_MAX), each for TPS_STEP_SECONDS. 2-line journals over
// ACCOUNTS accounts; HOT_SHARE of them debit one hot account. Ids are client-generated and
// time-ordered (UUIDv7). Every answer is checked; thresholds are the SLOs (env-configurable).
//
// Env: BASE_URL (http://127.0.0.1:3000), ACCOUNTS (1000), HOT_SHARE (0.1), TPS_STEPS
// ("1000,2000,5000"), TPS_STEP_SECONDS (30), SMOKE (1: 3 s at 20/s, for `npm test`),
// P99_MS (50), ERROR_RATE_MAX (0.001), RUN (a prefix for account ids; default: time).
import http from 'k6/http';
import { check } from 'k6';
import { Counter, Rate } from 'k6/metrics';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:3000';
const ACCOUNTS = Number(__ENV.ACCOUNTS || 1000);
const HOT_SHARE = Number(__ENV.HOT_SHARE || 0.1);
const SMOKE = __ENV.SMOKE === '1';
const STEPS = SMOKE ? [20] : (__ENV.TPS_STEPS || '1000,2000,5000').split(',').map(Number);
const STEP_SECONDS = SMOKE ? 3 : Number(__ENV.TPS_STEP_SECONDS || 30);
const P99_MS = Number(__ENV.P99_MS || 50);
const ERROR_RATE_MAX = Number(__ENV.ERROR_RATE_MAX || 0.001);
const RUN = __ENV.RUN || `k6-${Date.now().toString(36)}`;
const HOT = `${RUN}-hot`;

const journalErrors = new Rate('journal_errors');
const journalsPosted = new Counter('journals_posted');

// One scenario per step, one after the other: a constant arrival rate is what a payments
// platform offers, whatever the server's latency.
const scenarios = {};
STEPS.forEach((rate, i) => {
  scenarios[`tps_${rate}`] = {
    executor: 'constant-arrival-rate',
    rate,
    timeUnit: '1s',
    duration: `${STEP_SECONDS}s`,
    startTime: `${i * STEP_SECONDS}s`,
    preAllocatedVUs: Math.min(2000, Math.max(10, Math.ceil(rate / 20))),
    maxVUs: Math.min(4000, Math.max(20, Math.ceil(rate / 5))),
    tags: { step: String(rate) },
  };
});

export const options = {
  scenarios,
  thresholds: {
    http_req_failed: [`rate<${ERROR_RATE_MAX}`],
    journal_errors: [`rate<${ERROR_RATE_MAX}`],
    'http_req_duration{scenario_kind:journal}': [`p(99)<${P99_MS}`],
  },
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
};

const JSON_HEADERS = { 'content-type': 'application/json' };

function accountId(i) {
  return `${RUN}-${i}`;
}

export function setup() {
  const create = (id, accountType) =>
    http.post(
      `${BASE_URL}/api/accounts`,
      JSON.stringify({ accountId: id, name: id, holderId: RUN, accountType, asset: 'USD' }),
      { headers: JSON_HEADERS, tags: { scenario_kind: 'setup' } },
    );
  const ids = [];
  for (let i = 0; i < ACCOUNTS; i++) ids.push(accountId(i));
  for (let i = 0; i < ids.length; i += 50) {
    const answers = http.batch(
      ids.slice(i, i + 50).map((id) => [
        'POST',
        `${BASE_URL}/api/accounts`,
        JSON.stringify({
          accountId: id,
          name: id,
          holderId: RUN,
          accountType: 'asset',
          asset: 'USD',
        }),
        { headers: JSON_HEADERS, tags: { scenario_kind: 'setup' } },
      ]),
    );
    for (const answer of answers) {
      if (answer.status !== 200 && answer.status !== 201) {
        throw new Error(`account creation: ${answer.status} ${answer.body}`);
      }
    }
  }
  const hot = create(HOT, 'house');
  if (hot.status !== 200 && hot.status !== 201) throw new Error(`hot account: ${hot.status}`);
}

// UUIDv7: 48 bits of milliseconds, then random bits (version 7, variant 10).
function uuidv7() {
  const hex = Date.now().toString(16).padStart(12, '0');
  let rand = '';
  for (let i = 0; i < 20; i++) rand += Math.floor(Math.random() * 16).toString(16);
  const variant = ((Math.floor(Math.random() * 4) + 8) >>> 0).toString(16);
  return (
    `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${rand.slice(0, 3)}-` +
    `${variant}${rand.slice(3, 6)}-${rand.slice(6, 18)}`
  );
}

export default function () {
  const debit = Math.random() < HOT_SHARE ? HOT : accountId(Math.floor(Math.random() * ACCOUNTS));
  let credit = accountId(Math.floor(Math.random() * ACCOUNTS));
  while (credit === debit) credit = accountId(Math.floor(Math.random() * ACCOUNTS));
  const amount = 1 + Math.floor(Math.random() * 10000);
  const journalId = uuidv7();
  const answer = http.post(
    `${BASE_URL}/api/journal`,
    JSON.stringify({
      journalId,
      date: '2026-11-21',
      description: 'k6 journal',
      source: 'k6',
      lines: [
        { accountId: debit, lineType: 'DEBIT', amount, lineNumber: 1 },
        { accountId: credit, lineType: 'CREDIT', amount, lineNumber: 2 },
      ],
    }),
    { headers: JSON_HEADERS, tags: { scenario_kind: 'journal' } },
  );
  const ok = check(answer, {
    'journal 201': (r) => r.status === 201,
    'same journal id back': (r) => r.status === 201 && r.json('journalId') === journalId,
  });
  journalErrors.add(!ok);
  if (ok) journalsPosted.add(1);
}
