// What every k6 scenario shares: the settings read from env, client-generated time-ordered ids,
// the account population (one hot account among ACCOUNTS ordinary ones), and the two requests a
// ledger client makes — post a 2-line journal, read a balance — each checked, never assumed.
//
// Env: BASE_URL (http://127.0.0.1:3000), API_KEY (required), ACCOUNTS (1000), HOT_SHARE (0.1),
// RUN (a prefix that makes this run's account ids unique; default: time), P99_MS (50),
// P95_READ_MS (50), ERROR_RATE_MAX (0.001).
import http from 'k6/http';
import { check } from 'k6';
import { Rate } from 'k6/metrics';

export const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:3000';
export const ACCOUNTS = Number(__ENV.ACCOUNTS || 1000);
export const HOT_SHARE = Number(__ENV.HOT_SHARE || 0.1);
export const P99_MS = Number(__ENV.P99_MS || 50);
export const P95_READ_MS = Number(__ENV.P95_READ_MS || 50);
export const ERROR_RATE_MAX = Number(__ENV.ERROR_RATE_MAX || 0.001);
export const RUN = __ENV.RUN || `k6-${Date.now().toString(36)}`;
export const HOT = `${RUN}-hot`;

// The journals accepted are journal_errors' false samples (the runner reads them as such): a
// Counter beside it would cost k6 one more sample per request.
const journalErrors = new Rate('journal_errors');
const balanceErrors = new Rate('balance_errors');

// Every route the load uses needs an API key (journals:write, balances:read, accounts:write).
if (!__ENV.API_KEY) {
  throw new Error('API_KEY: an API key for the target (the runner mints one; see load/README.md)');
}
export const AUTH_HEADERS = { authorization: `Bearer ${__ENV.API_KEY}` };
export const JSON_HEADERS = { 'content-type': 'application/json', ...AUTH_HEADERS };
// Per-request tags: the runner's time series and the thresholds select requests by `kind`.
export const JOURNAL_PARAMS = {
  headers: JSON_HEADERS,
  tags: { kind: 'journal', name: 'POST /api/journal' },
};
export const BALANCE_PARAMS = {
  headers: AUTH_HEADERS,
  tags: { kind: 'balance', name: 'GET /api/balance/:accountId' },
};

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
// The tags the runner and thresholds use, and no others: every tag is work on every sample.
export const SYSTEM_TAGS = ['status', 'method', 'name', 'scenario', 'expected_response', 'check'];

/**
 * VUs for an open-model scenario at `rate`/s: enough in flight to keep offering the rate while
 * answers take up to `latencyMs` (at least 200 ms), so iterations are dropped only past that.
 */
export function vusFor(rate, latencyMs = 200) {
  return {
    preAllocatedVUs: Math.min(2000, Math.max(10, Math.ceil(rate / 20))),
    maxVUs: Math.min(4000, Math.max(20, Math.ceil((rate * Math.max(200, latencyMs)) / 1000))),
  };
}

/**
 * Iterations an open-model scenario could not start (every VU waiting on an answer) are offered
 * load the ledger did not absorb: fewer than `share` of the `offered` ones, or the run fails.
 */
export function droppedThreshold(offered, share = 0.01) {
  return { dropped_iterations: [`count<${Math.max(1, Math.floor(offered * share))}`] };
}

export function accountId(i) {
  return `${RUN}-${i}`;
}

export function randomAccount() {
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

// UUIDv7: 48 bits of milliseconds, then 74 random bits (version 7, variant 10). Three calls to
// Math.random, not twenty: at 5,000 journals/s k6 shares the machine with the ledger.
function hex(value, digits) {
  return value.toString(16).padStart(digits, '0');
}

export function uuidv7() {
  const ms = hex(Date.now(), 12);
  const a = Math.floor(Math.random() * 0x1000000); // 24 bits
  const b = Math.floor(Math.random() * 0x1000000); // 24 bits
  const c = Math.floor(Math.random() * 0x4000000); // 26 bits
  const randA = a & 0xfff; // 12 bits after the version
  const randB = 0x8000 | ((a >>> 12) << 2) | (b & 0x3); // variant 10, then 14 bits
  const node = hex(b >>> 2, 6) + hex(c, 7).slice(-6);
  return `${ms.slice(0, 8)}-${ms.slice(8)}-7${hex(randA, 3)}-${hex(randB, 4)}-${node}`;
}

/**
 * One 2-line journal's body (a JSON string) and its id: HOT_SHARE of them debit the hot account
 * (`hotShare` overrides it), the rest two distinct random accounts.
 */
export function journalBody(hotShare = HOT_SHARE) {
  const debit = Math.random() < hotShare ? HOT : randomAccount();
  let credit = randomAccount();
  while (credit === debit) credit = randomAccount();
  const amount = 1 + Math.floor(Math.random() * 10000);
  const journalId = uuidv7();
  const body = JSON.stringify({
    journalId,
    date: '2026-11-21',
    description: 'k6 journal',
    source: 'k6',
    lines: [
      { accountId: debit, lineType: 'DEBIT', amount, lineNumber: 1 },
      { accountId: credit, lineType: 'CREDIT', amount, lineNumber: 2 },
    ],
  });
  return { journalId, body, debit, credit };
}

/** Posts one journal (journalBody); true when the ledger answered 201 with our id. */
export function postJournal(hotShare = HOT_SHARE) {
  const { journalId, body } = journalBody(hotShare);
  const answer = http.post(`${BASE_URL}/api/journal`, body, JOURNAL_PARAMS);
  // One check, two facts: created, and created as the journal we sent (the id is unique, so
  // finding it in the body is as good as parsing it, at a fraction of k6's CPU).
  const ok = check(answer, {
    'journal 201 with its id': (r) => r.status === 201 && r.body.includes(journalId),
  });
  journalErrors.add(!ok);
  return ok;
}

/** Reads one account's balance (the hot one with HOT_SHARE); true when it is a balance. */
export function readBalance(hotShare = HOT_SHARE) {
  const id = Math.random() < hotShare ? HOT : randomAccount();
  const answer = http.get(`${BASE_URL}/api/balance/${encodeURIComponent(id)}`, BALANCE_PARAMS);
  const ok = check(answer, {
    'balance 200 of that account': (r) => r.status === 200 && r.body.includes(`"${id}"`),
  });
  balanceErrors.add(!ok);
  return ok;
}
