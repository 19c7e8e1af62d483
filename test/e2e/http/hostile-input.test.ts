/**
 * Proves that outside input can't break the books (issue 14): several hundred hostile requests,
 * generated from tables over every route the API registers (test/support/http/hostile/), sent as
 * raw bytes to a whole bridge on the stack's TigerBeetle cluster, PostgreSQL and Kafka, with the
 * projection worker running. Each case asserts the exact status and error code (and the field,
 * where it names one). Then, over all of them: no answer was a 5xx, none took 5 s or more, the
 * reconciler (`ledger-bridge reconcile`, in process) finds the ledger and PostgreSQL in agreement
 * over the run's window and the hash chain verifies.
 */
import { apiRouter, type ApiDeps } from '../../../bridge/src/api';
import { EDGE_ERROR_CODES } from '../../../bridge/src/http/edge-errors';
import { runVerify } from '../../../projections/src/hash-chain/verify-cli';
import { runReconcile } from '../../../projections/src/reconcile/cli';
import { SETTLE_DELAY_MS_DEFAULT } from '../../../projections/src/reconcile/horizon';
import type { Worker } from '../../../projections/src/worker';
import { liveFeed, startFileWorker } from '../../support/changefeed/live-feed';
import { type Harness, startHarness } from '../../support/http/harness';
import { ACCOUNT_CASES } from '../../support/http/hostile/account-cases';
import { HOLD_CASES } from '../../support/http/hostile/hold-cases';
import { JOURNAL_CASES } from '../../support/http/hostile/journal-cases';
import { KEY_CASES } from '../../support/http/hostile/key-cases';
import { LISTENER_CASES } from '../../support/http/hostile/listener-cases';
import { READ_CASES } from '../../support/http/hostile/read-cases';
import { ROUTE_CASES } from '../../support/http/hostile/route-cases';
import { TRANSFER_CASES } from '../../support/http/hostile/transfer-cases';
import {
  type HostileCase,
  prepareWorld,
  type World,
  WORLD_ACCOUNTS,
} from '../../support/http/hostile/world';
import type { RawAnswer } from '../../support/http/raw-client';

/** The suite's bounds: at least this many cases, each answered within this. */
const CASES_MIN = 300;
const ANSWER_MS_MAX = 5_000;
/** Every route has at least this many cases aimed at it. */
const CASES_PER_ROUTE_MIN = 10;
/** Past the reconciler's settle delay, so its window surely ends after the last answer. */
const SETTLE_MARGIN_MS = 500;

const GROUPS: Array<[string, HostileCase[]]> = [
  ['every route', ROUTE_CASES],
  ['journals', JOURNAL_CASES],
  ['holds', HOLD_CASES],
  ['raw transfers', TRANSFER_CASES],
  ['accounts', ACCOUNT_CASES],
  ['reads', READ_CASES],
  ['the listener', LISTENER_CASES],
  ['API keys', KEY_CASES],
];
const ALL = GROUPS.flatMap(([, cases]) => cases);
const EDGE_CODES: ReadonlySet<string> = new Set(EDGE_ERROR_CODES);

let h: Harness;
const feed = liveFeed('hostile');
let worker: Worker;
let world: World;
const answered: Array<{ name: string; status: number; ms: number }> = [];
let lastAnswerAtMs = 0;

beforeAll(async () => {
  // A change feed of its own: the stack's topic is shared by every run.
  h = await startHarness(feed.env);
  await feed.start(h.config);
  worker = await startFileWorker(h.config);
  world = await prepareWorld(h.bridge.url, h.run, h.key);
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await feed.stop();
  await h?.dispose();
}, 60_000);

it(`has at least ${CASES_MIN} distinct cases, at least ${CASES_PER_ROUTE_MIN} on every route`, () => {
  const names = ALL.map((c) => c.name);
  expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
  expect(ALL.length).toBeGreaterThanOrEqual(CASES_MIN);
  // The routes as the API registers them: a new route fails here until it has its cases.
  const stub = { monitor: {} } as unknown as ApiDeps;
  const registered = apiRouter(stub)
    .routes()
    .map(({ method, pattern }) => `${method} ${pattern}`);
  const perRoute = (route: string) => ALL.filter((c) => c.route === route).length;
  const thin = registered.filter((route) => perRoute(route) < CASES_PER_ROUTE_MIN);
  expect(registered).toContain('POST /api/journal');
  expect(thin).toEqual([]);
  const aimed = new Set(ALL.map((c) => c.route));
  expect([...aimed].filter((route) => route !== 'listener' && !registered.includes(route))).toEqual(
    [],
  );
});

describe.each(GROUPS)('%s', (_group, cases) => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await c.setup?.(world);
    const answer = await world.send(c.request(world), c.anonymous);
    answered.push({ name: c.name, status: answer.status, ms: answer.ms });
    lastAnswerAtMs = Date.now();
    expect(verdict(answer)).toEqual({ status: c.status, code: c.code });
    expectShape(c, answer);
    c.check?.(answer, world);
  });
});

/** The status and error code answered; a body that is not the error shape shows as itself. */
function verdict(answer: RawAnswer): { status: number; code: unknown } {
  if (answer.status < 400) return { status: answer.status, code: null };
  const code = answer.json?.error?.code;
  return { status: answer.status, code: typeof code === 'string' ? code : answer.body.toString() };
}

function expectShape(c: HostileCase, answer: RawAnswer): void {
  if (answer.status < 400) return;
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  expect(typeof answer.json.error.message).toBe('string');
  if (c.field !== undefined) expect(answer.json.error.field).toBe(c.field);
  // The edge's refusals always say where.
  if (EDGE_CODES.has(c.code ?? '')) expect(typeof answer.json.error.field).toBe('string');
}

describe('after every case', () => {
  it('no answer was a 5xx', () => {
    expect(answered.filter((a) => a.status >= 500)).toEqual([]);
  });

  it(`no answer took ${ANSWER_MS_MAX} ms or more`, () => {
    expect(answered.filter((a) => a.ms >= ANSWER_MS_MAX)).toEqual([]);
  });

  it('the reconciler finds the ledger and PostgreSQL in agreement, and the chain verifies', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      env: { ...h.env, LOG_LEVEL: 'silent' },
      out: (line: string) => out.push(line),
      err: (line: string) => err.push(line),
    };
    // The reconciler compares up to its settle delay before now: wait until that covers the
    // run's last answer. From the run's first transfer: the cluster holds other runs' too.
    const settled = lastAnswerAtMs + SETTLE_DELAY_MS_DEFAULT + SETTLE_MARGIN_MS - Date.now();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, settled)));
    const since = new Date(Number(world.firstTransferNs / 1_000_000n)).toISOString();
    const reconciled = await runReconcile(['--since', since, '--json'], io);
    expect({ reconciled, err }).toEqual({ reconciled: 0, err: [] });
    const report = JSON.parse(out.at(-1)!);
    expect(report).toMatchObject({ mismatchCount: 0, deferred: null });
    // It compared the run's accounts and transfers, not an empty window.
    expect(report.accounts.compared).toBeGreaterThanOrEqual(Object.keys(WORLD_ACCOUNTS).length);
    expect(report.transfers.ledgerScanned).toBeGreaterThan(0);
    expect({ verified: await runVerify(['--full'], io), err }).toEqual({ verified: 0, err: [] });
  }, 60_000);
});
