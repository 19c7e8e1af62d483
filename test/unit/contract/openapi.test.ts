/**
 * Proves the OpenAPI document (bridge/src/contract/) is the API's: every route the API's router
 * has (apiRouter, built on stub dependencies: only the route table is read) is an operation of
 * the document with the same method and access, and the document has no operation the router
 * lacks; the document is valid OpenAPI 3.1 (@readme/openapi-parser: the 3.1 schema plus its own
 * checks, e.g. path parameters declared, operationIds unique); and its error codes are the
 * code's: every (status, code) it lists is one the source answers with (read by
 * test/support/docs/error-codes.ts, as the README's table is), and every code the source answers
 * with is in it. Schemathesis then holds the running API to it (test/e2e/contract/).
 */
import { validate, compileErrors } from '@readme/openapi-parser';
import { apiRouter, type ApiDeps } from '../../../bridge/src/api';
import { buildOpenApi, type OpenApiDocument } from '../../../bridge/src/contract/openapi';
import { Router } from '../../../bridge/src/http/router';
import { collectErrorCodes } from '../../support/docs/error-codes';

/** Dependencies no route reads while it is registered: each is an empty object. */
const STUB_DEPS = new Proxy({}, { get: () => ({}) }) as ApiDeps;

const doc = buildOpenApi('test');

interface RouteRow {
  route: string;
  access: string;
}

function routerRows(router: Router): RouteRow[] {
  return router
    .routes()
    .map(({ method, pattern, access }) => ({
      route: `${method} ${pattern.replace(/:([A-Za-z]+)/g, '{$1}')}`,
      access: access === 'public' ? 'public' : access.scope,
    }))
    .sort((a, b) => a.route.localeCompare(b.route));
}

function documentRows(document: OpenApiDocument): RouteRow[] {
  const rows: RouteRow[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const security = op.security as Array<Record<string, string[]>>;
      const scope = security.length === 0 ? 'public' : Object.values(security[0]!)[0]![0]!;
      if (security.length > 0) expect(op['x-scope']).toBe(scope);
      rows.push({ route: `${method.toUpperCase()} ${path}`, access: scope });
    }
  }
  return rows.sort((a, b) => a.route.localeCompare(b.route));
}

/** Routes the document misses or describes differently, and operations no route has. */
function differences(router: Router, document: OpenApiDocument): string[] {
  const inDoc = new Map(documentRows(document).map((row) => [row.route, row.access]));
  const inRouter = new Map(routerRows(router).map((row) => [row.route, row.access]));
  const found: string[] = [];
  for (const [route, access] of inRouter) {
    if (!inDoc.has(route)) found.push(`${route} (${access}): not in the document`);
    else if (inDoc.get(route) !== access) {
      found.push(`${route}: router says ${access}, document ${inDoc.get(route)}`);
    }
  }
  for (const route of inDoc.keys()) {
    if (!inRouter.has(route)) found.push(`${route}: in the document, no such route`);
  }
  return found;
}

it('has every route of the API, with its method and access, and no other', () => {
  const router = apiRouter(STUB_DEPS);
  expect(router.routes().length).toBeGreaterThan(20);
  expect(differences(router, doc)).toEqual([]);
});

it('notices a route it lacks and a scope it gets wrong', () => {
  const router = apiRouter(STUB_DEPS);
  router.on('GET', '/api/new-thing/:id', { scope: 'journals:read' }, async () => {});
  const wrong = structuredClone(doc);
  wrong.paths['/health']!.get!.security = [{ apiKey: ['monitor:read'] }];
  wrong.paths['/health']!.get!['x-scope'] = 'monitor:read';
  expect(differences(router, wrong)).toEqual([
    'GET /api/new-thing/{id} (journals:read): not in the document',
    'GET /health: router says public, document monitor:read',
  ]);
});

it('is valid OpenAPI 3.1', async () => {
  expect(doc.openapi).toBe('3.1.0');
  const result = await validate(structuredClone(doc) as never);
  expect(result.valid ? [] : compileErrors(result)).toEqual([]);
  const broken = structuredClone(doc);
  delete (broken.paths['/api/balance/{accountId}']!.get as { parameters?: unknown }).parameters;
  expect((await validate(broken as never)).valid).toBe(false);
});

/** Every (status, code) the document lists: operations' responses and components.responses. */
function documentedPairs(document: OpenApiDocument): Map<string, Set<number>> {
  const pairs = new Map<string, Set<number>>();
  const add = (status: number, response: unknown): void => {
    const text = JSON.stringify(response);
    const codes = /"code":\{"enum":(\[[^\]]*\])/.exec(text);
    if (codes === null) return;
    for (const code of JSON.parse(codes[1]!) as string[]) {
      if (!pairs.has(code)) pairs.set(code, new Set());
      pairs.get(code)!.add(status);
    }
  };
  for (const item of Object.values(document.paths)) {
    for (const op of Object.values(item)) {
      for (const [status, response] of Object.entries(op.responses as object)) {
        add(Number(status), response);
      }
    }
  }
  const components = document.components as { responses: Record<string, { description: string }> };
  add(404, components.responses.RouteNotFound);
  add(405, components.responses.MethodNotAllowed);
  return pairs;
}

describe('error codes', () => {
  const code = collectErrorCodes();
  const documented = documentedPairs(doc);

  it('lists only (status, code) pairs the source answers with', () => {
    const unknown = [...documented].flatMap(([name, statuses]) =>
      [...statuses].filter((s) => !code.codes.get(name)?.has(s)).map((s) => `${s} ${name}`),
    );
    expect(documented.size).toBeGreaterThan(40);
    expect(unknown).toEqual([]);
  });

  it('lists every code the source answers with, at each of its statuses', () => {
    const missing = [...code.codes].flatMap(([name, statuses]) =>
      [...statuses]
        .filter((s) => !documented.get(name)?.has(s))
        .map((s) => `${s} ${name} (${code.where.get(name)})`),
    );
    expect(missing).toEqual([]);
  });
});
