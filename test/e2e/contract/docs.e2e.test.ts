/**
 * Proves the docs page renders the contract: a whole bridge (test/support/http/harness.ts) serves
 * /docs, headless Debian Chromium (playwright-core, /usr/bin/chromium) opens it, and Swagger UI
 * must show one block per operation of /openapi.json, with the title, the bearer scheme's
 * Authorize button, and no page error; every request the page makes stays on the bridge (assets
 * from node_modules, no CDN). A screenshot goes to .run/screenshots/docs.png (git-ignored).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium, SCREENSHOT_DIR } from '../../support/browser';
import { type Harness, startHarness } from '../../support/http/harness';

/** Longest Swagger UI may take to render the document (ms). */
const RENDER_TIMEOUT_MS = 30_000;

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

test('GET /docs renders every operation of /openapi.json in Chromium', async () => {
  const doc = (await (await fetch(`${h.bridge.url}/openapi.json`)).json()) as {
    info: { title: string };
    paths: Record<string, Record<string, { operationId: string }>>;
  };
  const operations = Object.values(doc.paths).flatMap((item) => Object.values(item));
  expect(operations.length).toBeGreaterThan(20);
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  const elsewhere: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(h.bridge.url) || url.startsWith('data:')) return route.continue();
    elsewhere.push(url);
    return route.abort();
  });
  try {
    await page.goto(`${h.bridge.url}/docs`);
    await page.waitForFunction(
      `document.querySelectorAll('.opblock').length >= ${operations.length}`,
      null,
      { timeout: RENDER_TIMEOUT_MS },
    );
    expect(await page.locator('.opblock').count()).toBe(operations.length);
    expect(await page.locator('.info .title').textContent()).toContain(doc.info.title);
    expect(await page.locator('button.authorize').count()).toBe(1);
    const summaries = await page.locator('.opblock-summary-path').allTextContents();
    expect(summaries.map((text) => text.replace(/\u200b/g, ''))).toEqual(
      expect.arrayContaining(['/api/journal', '/api/balance/{accountId}', '/openapi.json']),
    );
    fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const file = path.join(SCREENSHOT_DIR, 'docs.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(fs.statSync(file).size).toBeGreaterThan(10_000);
    expect(pageErrors).toEqual([]);
    expect(elsewhere).toEqual([]);
  } finally {
    await context.close();
  }
}, 120_000);
