/**
 * The contract's routes, public: GET /openapi.json (the document, built once when the routes are
 * mounted) and GET /docs, a Swagger UI page over it, its script and style served from
 * node_modules (swagger-ui-dist) and ./static: the network is closed, so no CDN. Only the names
 * in ASSETS are served, never a path from the request.
 */
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { sendJson } from '../http/respond';
import type { Router } from '../http/router';
import { buildOpenApi } from './openapi';

const STATIC_DIR = path.join(__dirname, 'static');
const PACKAGE_JSON = path.join(__dirname, '..', '..', '..', 'package.json');

function swaggerDist(file: string): string {
  return path.join(path.dirname(require.resolve('swagger-ui-dist/package.json')), file);
}

const JS = 'text/javascript; charset=utf-8';
/** Served assets: name → [file, content type]. */
const ASSETS: Record<string, [string, string]> = {
  'swagger-ui-bundle.js': [swaggerDist('swagger-ui-bundle.js'), JS],
  'swagger-ui.css': [swaggerDist('swagger-ui.css'), 'text/css; charset=utf-8'],
  'docs.js': [path.join(STATIC_DIR, 'docs.js'), JS],
};

/** Browsers may keep assets this long (s): they change only with a deploy. */
const ASSET_MAX_AGE_SEC = 300;

export function contractRoutes(router: Router): void {
  const { version } = JSON.parse(fs.readFileSync(PACKAGE_JSON, 'utf8')) as { version: string };
  const document = Buffer.from(JSON.stringify(buildOpenApi(version)));
  const page = fs.readFileSync(path.join(STATIC_DIR, 'docs.html'));
  const assets = new Map(
    Object.entries(ASSETS).map(([name, [file, type]]) => [
      name,
      { body: fs.readFileSync(file), type },
    ]),
  );
  router.on('GET', '/openapi.json', 'public', async ({ res }) => {
    send(res, document, 'application/json; charset=utf-8');
  });
  router.on('GET', '/docs', 'public', async ({ res }) => {
    send(res, page, 'text/html; charset=utf-8');
  });
  router.on('GET', '/docs/assets/:name', 'public', async ({ res, params }) => {
    const asset = assets.get(params[0]!);
    if (asset === undefined) {
      sendJson(res, 404, { error: { code: 'not_found', message: 'no such asset' } });
      return;
    }
    send(res, asset.body, asset.type, { 'cache-control': `public, max-age=${ASSET_MAX_AGE_SEC}` });
  });
}

function send(
  res: http.ServerResponse,
  body: Buffer,
  type: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(200, { ...headers, 'content-type': type, 'content-length': body.length });
  res.end(body);
}
