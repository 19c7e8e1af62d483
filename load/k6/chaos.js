// k6: the chaos run's clients (load/chaos). Journals at CHAOS_RATE/s (constant arrival rate) for
// up to CHAOS_SECONDS, through nginx to two bridge instances, while the runner kills and restarts
// the stack's parts. Each client behaves as a real one does: it retries the same journal (same id,
// same body) until it is acknowledged, waiting Retry-After when told, and gives up only after
// CHAOS_RETRY_SECONDS. After its 201, a READ_SHARE of clients read the journal back with its
// Consistency-Token and the debited account's balance with its Balance-Token (read-your-writes).
//
// Every acknowledgement is a line on k6's console (`--console-output`), which the runner audits:
//   ack <journalId> <first attempt ms> <201 ms> <attempts>
//   gaveup <journalId> <first attempt ms> <last attempt ms> <attempts> <last status>
//   readfail <journal-read|balance> <ms> <last status>   (a read back that never answered 200)
// The runner stops k6 (SIGINT) when its schedule is done; no thresholds: the runner judges.
//
// Env (and lib/ledger.js's): CHAOS_RATE (100), CHAOS_SECONDS (3600), CHAOS_RETRY_SECONDS (120),
// CHAOS_READ_SHARE (0.2), CHAOS_MAX_VUS (3000).
import http from 'k6/http';
import { sleep } from 'k6';
import { Rate } from 'k6/metrics';
import {
  AUTH_HEADERS,
  BASE_URL,
  createAccounts,
  JOURNAL_PARAMS,
  journalBody,
  SUMMARY_TREND_STATS,
  SYSTEM_TAGS,
} from './lib/ledger.js';

const RATE = Number(__ENV.CHAOS_RATE || 100);
const SECONDS = Number(__ENV.CHAOS_SECONDS || 3600);
const RETRY_SECONDS = Number(__ENV.CHAOS_RETRY_SECONDS || 120);
const READ_SHARE = Number(__ENV.CHAOS_READ_SHARE || 0.2);
// While the ledger has no quorum every client waits: RATE × the outage clients are in flight.
const MAX_VUS = Number(__ENV.CHAOS_MAX_VUS || 3000);
/** A retry's pause when the answer names none (connection refused, 502 from nginx). */
const RETRY_PAUSE_S = 0.2;
/** Longest pause between two attempts, whatever Retry-After says. */
const RETRY_PAUSE_MAX_S = 1;
/** A read told `425 projection_behind` tries again this many times. */
const READ_ATTEMPTS = 10;

// Every attempt's outcome: an error is any answer but 201 (the client retries it).
const journalAttemptErrors = new Rate('journal_attempt_errors');
const readErrors = new Rate('read_errors');

export const options = {
  scenarios: {
    chaos: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: `${SECONDS}s`,
      preAllocatedVUs: Math.min(MAX_VUS, Math.max(20, RATE)),
      maxVUs: MAX_VUS,
      gracefulStop: `${RETRY_SECONDS}s`,
    },
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
  systemTags: SYSTEM_TAGS,
};

const REQUEST_TIMEOUT = '30s';
const JOURNAL_ATTEMPT = {
  ...JOURNAL_PARAMS,
  timeout: REQUEST_TIMEOUT,
  responseCallback: http.expectedStatuses(201),
};

export function setup() {
  createAccounts();
}

function pauseFor(answer) {
  const told = Number(answer.headers['Retry-After']);
  return Number.isFinite(told) && told > 0 ? Math.min(told, RETRY_PAUSE_MAX_S) : RETRY_PAUSE_S;
}

/** GET with a token, again while the projections are behind (425); its last status. */
function readBack(url, headers, kind, name) {
  let answer = null;
  for (let attempt = 1; attempt <= READ_ATTEMPTS; attempt++) {
    answer = http.get(url, { headers, tags: { kind, name }, timeout: REQUEST_TIMEOUT });
    if (answer.status === 200) return 200;
    if (answer.status !== 425 && answer.status < 500 && answer.status !== 0) break;
    sleep(pauseFor(answer));
  }
  console.log(`readfail ${kind} ${Date.now()} ${answer.status}`);
  return answer.status;
}

export default function () {
  const { journalId, body, debit } = journalBody();
  const firstMs = Date.now();
  let attempts = 0;
  let answer = null;
  while (Date.now() - firstMs < RETRY_SECONDS * 1000) {
    attempts++;
    answer = http.post(`${BASE_URL}/api/journal`, body, JOURNAL_ATTEMPT);
    const ok = answer.status === 201 && answer.body.includes(journalId);
    journalAttemptErrors.add(!ok);
    if (ok) break;
    // A refusal of the journal itself (400, 409, 422) is no fault of the stack: it would be
    // refused again. Everything else (0, 5xx, 425, 429) is retried with the same id and body.
    if (answer.status >= 400 && answer.status < 500 && ![408, 425, 429].includes(answer.status)) {
      break;
    }
    sleep(pauseFor(answer));
  }
  if (answer === null || answer.status !== 201) {
    const status = answer === null ? 'none' : answer.status;
    console.log(`gaveup ${journalId} ${firstMs} ${Date.now()} ${attempts} ${status}`);
    return;
  }
  console.log(`ack ${journalId} ${firstMs} ${Date.now()} ${attempts}`);
  if (Math.random() >= READ_SHARE) return;
  const consistency = answer.headers['Consistency-Token'];
  const balance = answer.headers['Balance-Token'];
  const journalRead = readBack(
    `${BASE_URL}/api/journal/${journalId}`,
    { ...AUTH_HEADERS, 'Consistency-Token': consistency },
    'journal-read',
    'GET /api/journal/:journalId',
  );
  const balanceRead = readBack(
    `${BASE_URL}/api/balance/${encodeURIComponent(debit)}`,
    { ...AUTH_HEADERS, 'Balance-Token': balance },
    'balance',
    'GET /api/balance/:accountId',
  );
  readErrors.add(journalRead !== 200);
  readErrors.add(balanceRead !== 200);
}
