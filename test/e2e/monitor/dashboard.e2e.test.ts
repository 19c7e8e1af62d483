// Proves the live dashboard end to end: a whole bridge (test/support/http/harness.ts: embedded engine,
// the local PostgreSQL through PgBouncer, Kafka) takes a short bounded load of journals and
// balance reads, then headless Debian Chromium (playwright-core, /usr/bin/chromium) opens
// /dashboard, and the page must show chart data (its point count > 0, five drawn charts, journals
// per second > 0 in the data it polled) and every SLO card with a state. A screenshot goes to
// .run/screenshots/ (git-ignored).
//
// Two targets: the bridge itself once bridge.ts/server.ts mount the monitor (skipped, visibly,
// while /dashboard answers 404), and — always — the monitor mounted on a small node:http server
// beside the harness bridge, which forwards /api calls to it and observes them as server.ts's
// hook does, so the monitor and page are checked before and independently of the wiring.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import type { Browser } from 'playwright-core';
import { launchChromium, SCREENSHOT_DIR } from '../../support/browser';
import { Router } from '../../../bridge/src/http/router';
import type { Posted } from '../../../bridge/src/journal/service';
import { batcherMetrics } from '../../../bridge/src/monitor/metrics';
import { Monitor } from '../../../bridge/src/monitor/monitor';
import { monitorRoutes } from '../../../bridge/src/monitor/routes';
import { type Harness, startHarness, withKey } from '../../support/http/harness';

/** Journals in the load (each followed by a balance read), and how many run at once. */
const LOAD_JOURNALS = 400;
const LOAD_CONCURRENCY = 16;
/** Longest the page may take to show data (ms). */
const PAGE_DATA_TIMEOUT_MS = 20_000;

let h: Harness;
let browser: Browser;

beforeAll(async () => {
  h = await startHarness();
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await h?.dispose();
});

test('the wired bridge serves /dashboard with live charts and SLO states', async () => {
  const probe = await fetch(`${h.bridge.url}/dashboard`);
  await probe.arrayBuffer();
  if (probe.status === 404) {
    console.warn(
      'SKIPPED: the bridge answers 404 for /dashboard — the monitor is not wired into ' +
        'bridge.ts/server.ts yet (see bridge/src/monitor/README.md); the beside-the-bridge ' +
        'test below still checks the monitor and the page.',
    );
    return;
  }
  expect(probe.status).toBe(200);
  await runLoad(h.bridge.url, 'wired');
  await checkDashboard(h.bridge.url, 'dashboard-wired');
}, 120_000);

test('the monitor beside the harness bridge: load through it, charts and SLOs in Chromium', async () => {
  const side = await startSideServer(h);
  try {
    await runLoad(side.url, 'side');
    await checkDashboard(side.url, 'dashboard');
  } finally {
    await side.close();
  }
}, 120_000);

/** Accounts, then LOAD_JOURNALS journals each followed by a balance read, LOAD_CONCURRENCY at once. */
async function runLoad(base: string, tag: string): Promise<void> {
  const bank = `${h.run}-${tag}-bank`;
  const revenue = `${h.run}-${tag}-revenue`;
  for (const [accountId, accountType] of [
    [bank, 'asset'],
    [revenue, 'revenue'],
  ]) {
    const res = await fetch(`${base}/api/accounts`, {
      method: 'POST',
      headers: withKey({ 'content-type': 'application/json' }),
      body: JSON.stringify({
        accountId,
        name: accountId,
        holderId: 'h',
        accountType,
        asset: 'USD',
      }),
    });
    await res.arrayBuffer();
    expect([200, 201]).toContain(res.status);
  }
  let next = 0;
  const statuses: number[] = [];
  const worker = async (): Promise<void> => {
    while (next < LOAD_JOURNALS) {
      const n = next++;
      const journal = {
        journalId: `${h.run}-${tag}-j${n}`,
        date: '2026-11-22',
        description: `dashboard load ${n}`,
        source: 'test/monitor',
        lines: [
          { accountId: bank, lineType: 'DEBIT', amount: 100, lineNumber: 1 },
          { accountId: revenue, lineType: 'CREDIT', amount: 100, lineNumber: 2 },
        ],
      };
      const posted = await fetch(`${base}/api/journal`, {
        method: 'POST',
        headers: withKey({ 'content-type': 'application/json' }),
        body: JSON.stringify(journal),
      });
      await posted.arrayBuffer();
      const read = await fetch(`${base}/api/balance/${bank}`, { headers: withKey() });
      await read.arrayBuffer();
      statuses.push(posted.status, read.status);
    }
  };
  await Promise.all(Array.from({ length: LOAD_CONCURRENCY }, worker));
  expect(statuses.filter((s) => s !== 201 && s !== 200)).toEqual([]);
}

async function checkDashboard(base: string, name: string): Promise<void> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  try {
    await page.goto(`${base}/dashboard#key=${h.key}`);
    // The monitor appends a point per second; the page polls every second.
    await page.waitForFunction('Number(document.body.dataset.points) >= 5', null, {
      timeout: PAGE_DATA_TIMEOUT_MS,
    });
    await page.waitForFunction(
      'Number(document.getElementById("slos").dataset.sloCount) > 0',
      null,
      { timeout: PAGE_DATA_TIMEOUT_MS },
    );
    const points = Number(await page.locator('body').getAttribute('data-points'));
    expect(points).toBeGreaterThan(0);
    expect(await page.locator('#points').textContent()).toBe(String(points));
    expect(await page.locator('.uplot canvas').count()).toBe(5);
    const cards = page.locator('.slo');
    expect(await cards.count()).toBe(8);
    const api = page.locator('.slo[data-slo="api_latency_p99"]');
    expect(['ok', 'at_risk', 'breached', 'no_data']).toContain(
      await api.getAttribute('data-state'),
    );
    expect(await api.locator('.state').textContent()).toMatch(/ok|at risk|breached|no data/);
    const throughput = await page.locator('.slo[data-slo="throughput_sustained"]').textContent();
    expect(throughput).toContain('journals/s');
    // The data the page polls has seen the load.
    const data = (await (await fetch(`${base}/dashboard/data`, { headers: withKey() })).json()) as {
      points: Array<{ journalsPerSec: number; requestsPerSec: number; p99Ms: number | null }>;
    };
    expect(data.points.some((p) => p.journalsPerSec > 0)).toBe(true);
    expect(data.points.some((p) => p.p99Ms !== null)).toBe(true);
    fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const file = path.join(SCREENSHOT_DIR, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    expect(fs.statSync(file).size).toBeGreaterThan(10_000);
    expect(pageErrors).toEqual([]);
    const slo = (await (await fetch(`${base}/slo`, { headers: withKey() })).json()) as {
      slos: unknown[];
    };
    expect(slo.slos).toHaveLength(8);
  } finally {
    await context.close();
  }
}

/**
 * The monitor's routes on a node:http server of their own; every other request is forwarded to
 * the harness bridge and observed with its route pattern, as server.ts's hook will do.
 */
async function startSideServer(harness: Harness): Promise<{ url: string; close(): Promise<void> }> {
  const pool = new pg.Pool({ connectionString: harness.config.DATABASE_URL, max: 2 });
  const monitor = new Monitor({
    log: pino({ level: 'silent' }),
    lag: { db: pool, topic: harness.topic, groupId: harness.config.PROJECTIONS_GROUP_ID },
    pools: { pgbouncer: pool },
  }).start();
  batcherMetrics(monitor.metrics, harness.bridge.batcher);
  const router = new Router();
  monitorRoutes(router, monitor);
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const route = router.match(req.method ?? 'GET', url.split('?')[0]!);
    if (route !== null) {
      void route.handler({ req, res, params: route.params, path: url });
      return;
    }
    void forward(harness.bridge.url, req, res, monitor);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await monitor.stop();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await pool.end();
    },
  };
}

/** The route pattern of the routes this load uses (server.ts gets it from its router). */
function routePattern(method: string, path: string): string {
  if (method === 'POST' && path === '/api/journal') return '/api/journal';
  if (method === 'GET' && /^\/api\/balance\/[^/]+$/.test(path)) return '/api/balance/:accountId';
  if (method === 'POST' && path === '/api/accounts') return '/api/accounts';
  return 'unmatched';
}

async function forward(
  target: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  monitor: Monitor,
): Promise<void> {
  const started = performance.now();
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const method = req.method ?? 'GET';
  const route = routePattern(method, (req.url ?? '/').split('?')[0]!);
  const journal = route === '/api/journal';
  if (journal) monitor.journals.offered();
  const answer = await fetch(target + req.url, {
    method,
    headers: {
      'content-type': req.headers['content-type'] ?? 'application/json',
      authorization: req.headers.authorization ?? '',
    },
    body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
  });
  const body = Buffer.from(await answer.arrayBuffer());
  res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? '' });
  res.end(body);
  if (journal) {
    const token = /^p(\d+)\.o(\d+)$/.exec(answer.headers.get('consistency-token') ?? '');
    const posted =
      token === null
        ? null
        : ({ position: { partition: Number(token[1]), offset: token[2]! } } as Posted);
    const status = answer.status;
    monitor.journals.settled(
      status === 201 ? 'posted' : status < 500 ? 'rejected' : 'failed',
      posted,
    );
  }
  monitor.observeHttp(route, method, answer.status, performance.now() - started);
}
