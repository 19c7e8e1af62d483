// What every k6 scenario shares: the settings read from env, client-generated time-ordered ids,
// the account population (one hot account among ACCOUNTS ordinary ones), and the two requests a
// ledger client makes — post a 2-line journal, read a balance — each checked, never assumed.
//
// Env: BASE_URL (http://127.0.0.1:3000), ACCOUNTS (1000), HOT_SHARE (0.1), RUN (a prefix that
// makes this run's account ids unique; default: time), P99_MS (50), P95_READ_MS (50),
// ERROR_RATE_MAX (0.001).
import http from 'k6/http';
import { check } from 'k6';
import { Counter, Rate } from 'k6/metrics';

export const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:3000';
export const ACCOUNTS = Number(__ENV.ACCOUNTS || 1000);
export const HOT_SHARE = Number(__ENV.HOT_SHARE || 0.1);
export const P99_MS = Number(__ENV.P99_MS || 50);
export const P95_READ_MS = Number(__ENV.P95_READ_MS || 50);
export const ERROR_RATE_MAX = Number(__ENV.ERROR_RATE_MAX || 0.001);
export const RUN = __ENV.RUN || `k6-${Date.now().toString(36)}`;
export const HOT = `${RUN}-hot`;

const journalErrors = new Rate('journal_errors');
const journalsPosted = new Counter('journals_posted');
const balanceErrors = new Rate('balance_errors');

const JSON_HEADERS = { 'content-type': 'application/json' };
// Per-request tags: the runner's time series and the thresholds select requests by `kind`.
const JOURNAL_PARAMS = {
  headers: JSON_HEADERS,
  tags: { kind: 'journal', name: 'POST /api/journal' },
};
const BALANCE_PARAMS = { tags: { kind: 'balance', name: 'GET /api/balance/:accountId' } };

/** Thresholds equal to the SLOs: journal errors and p99, and (when read) balance p95. */
export function sloThresholds({ journals = true, balances = false, journalP99Ms = P99_MS } = {}) {
  const thresholds = {};
  if (journals) {
    thresholds.journal_errors = [`rate<${ERROR_RATE_MAX}`];
    thresholds['http_req_duration{kind:journal}'] = [`p(99)<${journalP99Ms}`];
  }
  if (balances) {
    thresholds.balance_errors = [`rate<${ERROR_RATE_MAX}`];
    thresholds['http_req_duration{kind:balance}'] = [`p(95)<${P95_READ_MS}`];
  }
  return thresholds;
}

export const SUMMARY_TREND_STATS = ['avg', 'med', 'p(95)', 'p(99)', 'max'];

/** VUs for an open-model scenario at `rate`/s: enough in flight for latency spikes. */
export function vusFor(rate) {
  return {
    preAllocatedVUs: Math.min(2000, Math.max(10, Math.ceil(rate / 20))),
    maxVUs: Math.min(4000, Math.max(20, Math.ceil(rate / 5))),
  };
}

export function accountId(i) {
  return `${RUN}-${i}`;
}

function randomAccount() {
  return accountId(Math.floor(Math.random() * ACCOUNTS));
}

/** Creates the population (idempotent: a retried setup finds its accounts there). */
export function createAccounts() {
  const request = (id, accountType) => [
    'POST',
    `${BASE_URL}/api/accounts`,
    JSON.stringify({ accountId: id, name: id, holderId: RUN, accountType, asset: 'USD' }),
    { headers: JSON_HEADERS, tags: { kind: 'setup' } },
  ];
  const requests = [];
  for (let i = 0; i < ACCOUNTS; i++) requests.push(request(accountId(i), 'asset'));
  requests.push(request(HOT, 'house'));
  for (let i = 0; i < requests.length; i += 50) {
    for (const answer of http.batch(requests.slice(i, i + 50))) {
      if (answer.status !== 200 && answer.status !== 201) {
        throw new Error(`account creation: ${answer.status} ${answer.body}`);
      }
    }
  }
}

// UUIDv7: 48 bits of milliseconds, then random bits (version 7, variant 10).
export function uuidv7() {
  const hex = Date.now().toString(16).padStart(12, '0');
  let rand = '';
  for (let i = 0; i < 20; i++) rand += Math.floor(Math.random() * 16).toString(16);
  const variant = (Math.floor(Math.random() * 4) + 8).toString(16);
  return (
    `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${rand.slice(0, 3)}-` +
    `${variant}${rand.slice(3, 6)}-${rand.slice(6, 18)}`
  );
}

/**
 * Posts one 2-line journal: HOT_SHARE of them debit the hot account (`hotShare` overrides it),
 * the rest two distinct random accounts. True when the ledger answered 201 with our id.
 */
export function postJournal(hotShare = HOT_SHARE) {
  const debit = Math.random() < hotShare ? HOT : randomAccount();
  let credit = randomAccount();
  while (credit === debit) credit = randomAccount();
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
    JOURNAL_PARAMS,
  );
  const ok = check(answer, {
    'journal 201': (r) => r.status === 201,
    'same journal id back': (r) => r.status === 201 && r.json('journalId') === journalId,
  });
  journalErrors.add(!ok);
  if (ok) journalsPosted.add(1);
  return ok;
}

/** Reads one account's balance (the hot one with HOT_SHARE); true when it is a balance. */
export function readBalance(hotShare = HOT_SHARE) {
  const id = Math.random() < hotShare ? HOT : randomAccount();
  const answer = http.get(`${BASE_URL}/api/balance/${encodeURIComponent(id)}`, BALANCE_PARAMS);
  const ok = check(answer, {
    'balance 200': (r) => r.status === 200,
    'balance of that account': (r) => r.status === 200 && r.json('accountId') === id,
  });
  balanceErrors.add(!ok);
  return ok;
}
