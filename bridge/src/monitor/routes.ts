/**
 * The monitor's HTTP routes on the lean router: `/metrics` (Prometheus), `/slo` (the evaluator's
 * JSON), `/dashboard` (one HTML page), `/dashboard/data` (its time series) and
 * `/dashboard/assets/<name>` (the page's script and the charting library, uPlot, served from
 * node_modules: the network is closed, so no CDN). Assets are read once, when the routes are
 * mounted; only names in ASSETS are served, never a path from the request.
 */
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { sendJson } from '../http/respond';
import type { Router } from '../http/router';
import type { Monitor } from './monitor';

const STATIC_DIR = path.join(__dirname, 'static');

function uplotDist(file: string): string {
  return path.join(path.dirname(require.resolve('uplot')), file);
}

/** Served assets: name → [file, content type]. */
const ASSETS: Record<string, [string, string]> = {
  'uplot.js': [uplotDist('uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
  'uplot.css': [uplotDist('uPlot.min.css'), 'text/css; charset=utf-8'],
  'dashboard.js': [path.join(STATIC_DIR, 'dashboard.js'), 'text/javascript; charset=utf-8'],
};

/** Browsers may keep assets this long (s): they change only with a deploy. */
const ASSET_MAX_AGE_SEC = 300;

export function monitorRoutes(router: Router, monitor: Monitor): void {
  const page = fs.readFileSync(path.join(STATIC_DIR, 'dashboard.html'));
  const assets = new Map(
    Object.entries(ASSETS).map(([name, [file, type]]) => [
      name,
      { body: fs.readFileSync(file), type },
    ]),
  );
  router.on('GET', '/metrics', { scope: 'monitor:read' }, async ({ res }) => {
    await sendMetrics(monitor, res);
  });
  router.on('GET', '/slo', { scope: 'monitor:read' }, async ({ res }) => {
    sendJson(res, 200, { ...monitor.slo.evaluate(), alerts: monitor.alerter.active() });
  });
  // The page and its scripts hold no data: public, so a browser can open them; the data they
  // fetch needs monitor:read (the page takes the key from its URL fragment).
  router.on('GET', '/dashboard', 'public', async ({ res }) => {
    send(res, 200, page, 'text/html; charset=utf-8', { 'cache-control': 'no-store' });
  });
  router.on('GET', '/dashboard/data', { scope: 'monitor:read' }, async ({ req, res }) => {
    const since = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('since') ?? 0);
    sendJson(res, 200, monitor.dashboard(Number.isFinite(since) ? since : 0), {
      'cache-control': 'no-store',
    });
  });
  router.on('GET', '/dashboard/assets/:name', 'public', async ({ res, params }) => {
    const asset = assets.get(params[0]!);
    if (asset === undefined) {
      sendJson(res, 404, { error: { code: 'not_found', message: 'no such asset' } });
      return;
    }
    send(res, 200, asset.body, asset.type, {
      'cache-control': `public, max-age=${ASSET_MAX_AGE_SEC}`,
    });
  });
}

/** `/metrics` as a plain node:http handler, for a listener of its own. */
export async function sendMetrics(monitor: Monitor, res: http.ServerResponse): Promise<void> {
  const text = await monitor.metrics.registry.metrics();
  send(res, 200, Buffer.from(text), monitor.metrics.registry.contentType);
}

function send(
  res: http.ServerResponse,
  status: number,
  body: Buffer,
  type: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { ...headers, 'content-type': type, 'content-length': body.length });
  res.end(body);
}
