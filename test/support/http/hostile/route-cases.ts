/**
 * The hostile classes every route gets, generated from one table of the API's routes: wrong
 * methods, query-string and path abuse, HEAD and absolute-form targets, malformed parameters, and
 * for routes that take a body the whole body policy (media type, charset, encoding, size, UTF-8,
 * JSON syntax, nesting, prototype keys). The suite checks that this table names every route the
 * API registers.
 */
import { gzipSync } from 'node:zlib';
import {
  ACCOUNT_BODY_BYTES_MAX,
  REGISTRY_BODY_BYTES_MAX,
} from '../../../../bridge/src/accounts/routes';
import { BODY_DEPTH_MAX } from '../../../../bridge/src/http/body';
import { BULK_BODY_BYTES_MAX, JOURNAL_BODY_BYTES_MAX } from '../../../../bridge/src/journal/routes';
import { TRANSFERS_BODY_BYTES_MAX } from '../../../../bridge/src/transfers/routes';
import type { RawRequest } from '../raw-client';
import type { HostileCase, World } from './world';

interface Answer {
  status: number;
  code: string | null;
  field?: string;
}

export interface RouteSpec {
  method: 'GET' | 'POST';
  pattern: string;
  /** A path of the route in the world. */
  path: (w: World) => string;
  /** GET: what the plain request answers. POST: what `sample` answers. */
  answer: Answer;
  /** POST: a body the route answers with `answer`. */
  sample?: (w: World) => unknown;
  /** Routes with a parameter: the path with `value` as it, and what a malformed id answers. */
  param?: { name: string; path: (w: World, value: string) => string; malformed: Answer };
  /** The most bytes of body the route reads. */
  bodyBytesMax?: number;
  /** What an empty body answers, when the route takes one (else invalid_json at 0). */
  emptyBody?: Answer;
  /** The path's Allow header, when another route takes another method on the same path. */
  allow?: string;
}

const invalidAccountId = { status: 400, code: 'invalid_input', field: 'accountId' };

export const ROUTES: RouteSpec[] = [
  { method: 'GET', pattern: '/health', path: () => '/health', answer: { status: 200, code: null } },
  { method: 'GET', pattern: '/ready', path: () => '/ready', answer: { status: 200, code: null } },
  {
    method: 'GET',
    pattern: '/metrics',
    path: () => '/metrics',
    answer: { status: 200, code: null },
  },
  { method: 'GET', pattern: '/slo', path: () => '/slo', answer: { status: 200, code: null } },
  {
    method: 'GET',
    pattern: '/dashboard',
    path: () => '/dashboard',
    answer: { status: 200, code: null },
  },
  {
    method: 'GET',
    pattern: '/dashboard/data',
    path: () => '/dashboard/data?since=0',
    answer: { status: 200, code: null },
  },
  {
    method: 'GET',
    pattern: '/dashboard/assets/:name',
    path: () => '/dashboard/assets/uplot.js',
    answer: { status: 200, code: null },
    param: {
      name: 'name',
      path: (_w, value) => `/dashboard/assets/${value}`,
      malformed: { status: 404, code: 'not_found' },
    },
  },
  {
    method: 'GET',
    pattern: '/openapi.json',
    path: () => '/openapi.json',
    answer: { status: 200, code: null },
  },
  { method: 'GET', pattern: '/docs', path: () => '/docs', answer: { status: 200, code: null } },
  {
    method: 'GET',
    pattern: '/docs/assets/:name',
    path: () => '/docs/assets/docs.js',
    answer: { status: 200, code: null },
    param: {
      name: 'name',
      path: (_w, value) => `/docs/assets/${value}`,
      malformed: { status: 404, code: 'not_found' },
    },
  },
  {
    method: 'GET',
    pattern: '/api/balance/:accountId',
    path: (w) => `/api/balance/${w.id('cash')}`,
    answer: { status: 200, code: null },
    param: {
      name: 'accountId',
      path: (_w, value) => `/api/balance/${value}`,
      malformed: invalidAccountId,
    },
  },
  {
    method: 'GET',
    pattern: '/api/accounts/:accountId',
    path: (w) => `/api/accounts/${w.id('cash')}`,
    answer: { status: 200, code: null },
    param: {
      name: 'accountId',
      path: (_w, value) => `/api/accounts/${value}`,
      malformed: invalidAccountId,
    },
  },
  {
    method: 'GET',
    pattern: '/api/accounts/:accountId/entries',
    path: (w) => `/api/accounts/${w.id('cash')}/entries`,
    answer: { status: 200, code: null },
    param: {
      name: 'accountId',
      path: (_w, value) => `/api/accounts/${value}/entries`,
      malformed: invalidAccountId,
    },
  },
  {
    method: 'GET',
    pattern: '/api/journal/:journalId',
    path: (w) => `/api/journal/${w.posted.journalId}`,
    answer: { status: 200, code: null },
    param: {
      name: 'journalId',
      path: (_w, value) => `/api/journal/${value}`,
      malformed: { status: 400, code: 'invalid_journal_id', field: 'journalId' },
    },
  },
  {
    method: 'POST',
    pattern: '/api/journal',
    path: () => '/api/journal',
    sample: () => ({}),
    answer: { status: 400, code: 'field_required', field: 'journalId' },
    bodyBytesMax: JOURNAL_BODY_BYTES_MAX,
  },
  {
    method: 'POST',
    pattern: '/api/journals/batch',
    path: () => '/api/journals/batch',
    sample: () => ({}),
    answer: { status: 400, code: 'field_required', field: 'journals' },
    bodyBytesMax: BULK_BODY_BYTES_MAX,
  },
  ...(['post', 'void'] as const).map((action): RouteSpec => ({
    method: 'POST',
    pattern: `/api/journal/:journalId/${action}`,
    path: (w) => `/api/journal/${w.id('no-such-hold')}/${action}`,
    sample: () => ({}),
    answer: { status: 404, code: 'journal_not_found' },
    emptyBody: { status: 404, code: 'journal_not_found' },
    bodyBytesMax: JOURNAL_BODY_BYTES_MAX,
    param: {
      name: 'journalId',
      path: (_w, value) => `/api/journal/${value}/${action}`,
      malformed: { status: 400, code: 'field_invalid', field: 'journalId' },
    },
  })),
  {
    method: 'POST',
    pattern: '/api/transfers/batch',
    path: () => '/api/transfers/batch',
    sample: () => ({}),
    answer: { status: 400, code: 'field_invalid', field: 'transfers' },
    bodyBytesMax: TRANSFERS_BODY_BYTES_MAX,
  },
  {
    method: 'POST',
    pattern: '/api/accounts',
    path: () => '/api/accounts',
    sample: () => ({}),
    answer: { status: 400, code: 'invalid_input', field: 'accountId' },
    bodyBytesMax: ACCOUNT_BODY_BYTES_MAX,
  },
  // The registry: a GET and a POST on each path.
  ...['/api/assets', '/api/account-types'].flatMap((pattern): RouteSpec[] => [
    {
      method: 'GET',
      pattern,
      path: () => pattern,
      answer: { status: 200, code: null },
      allow: 'GET, POST, HEAD',
    },
    {
      method: 'POST',
      pattern,
      path: () => pattern,
      sample: () => ({}),
      answer: { status: 400, code: 'invalid_input', field: 'code' },
      bodyBytesMax: REGISTRY_BODY_BYTES_MAX,
      allow: 'GET, POST, HEAD',
    },
  ]),
];

const WRONG_METHODS = ['PUT', 'DELETE', 'PATCH', 'OPTIONS'];

/** Classes of every route: methods, query, path, HEAD and absolute-form. */
function everyRouteCases(spec: RouteSpec): HostileCase[] {
  const route = `${spec.method} ${spec.pattern}`;
  const allow = spec.allow ?? (spec.method === 'GET' ? 'GET, HEAD' : 'POST');
  const methods = [...WRONG_METHODS, spec.method === 'GET' ? 'POST' : 'GET'].filter(
    (method) => !allow.split(', ').includes(method),
  );
  const at = (name: string, request: (w: World) => RawRequest, answer: Answer): HostileCase => ({
    name: `${route}: ${name}`,
    route,
    request,
    ...answer,
  });
  const notFound = { status: 404, code: 'route_not_found', field: 'path' };
  const cases = [
    ...methods.map((method) => ({
      ...at(`${method} instead`, (w) => ({ method, target: spec.path(w) }), {
        status: 405,
        code: 'method_not_allowed',
        field: 'method',
      }),
      check: (answer: { headers: Record<string, string> }) =>
        expect(answer.headers.allow).toBe(allow),
    })),
    at('a query parameter with U+0000', (w) => withQuery(spec, w, 'x=a%00b'), {
      status: 400,
      code: 'invalid_text',
      field: 'x',
    }),
    at('a query name with U+0000', (w) => withQuery(spec, w, 'a%00b=1'), {
      status: 400,
      code: 'invalid_text',
      field: 'query',
    }),
    at('a truncated escape in the query', (w) => withQuery(spec, w, 'x=%E0%A4%A'), {
      status: 400,
      code: 'invalid_query_encoding',
      field: 'x',
    }),
    at('a lone % in the query', (w) => withQuery(spec, w, 'x=100%'), {
      status: 400,
      code: 'invalid_query_encoding',
      field: 'x',
    }),
    at(
      'a trailing slash',
      (w) => ({ method: spec.method, target: `${pathOnly(spec, w)}/` }),
      notFound,
    ),
    at(
      'the path in upper case',
      (w) => ({ method: spec.method, target: upper(spec, w) }),
      notFound,
    ),
    at(
      'a dot segment before it',
      (w) => ({ method: spec.method, target: `/x/..${spec.path(w)}` }),
      notFound,
    ),
  ];
  if (spec.method === 'GET') {
    cases.push(
      {
        ...at('HEAD', (w) => ({ method: 'HEAD', target: spec.path(w) }), spec.answer),
        check: (answer) => expect(answer.body.length).toBe(0),
      },
      at(
        'an absolute-form target',
        (w) => ({ method: 'GET', target: `http://bridge.example${spec.path(w)}` }),
        spec.answer,
      ),
    );
  }
  return cases;
}

function pathOnly(spec: RouteSpec, w: World): string {
  return spec.path(w).split('?')[0]!;
}

function upper(spec: RouteSpec, w: World): string {
  const path = pathOnly(spec, w);
  return path.toUpperCase() === path ? path.replace('/', '/X') : path.toUpperCase();
}

function withQuery(spec: RouteSpec, w: World, query: string): RawRequest {
  const path = spec.path(w);
  return { method: spec.method, target: `${path}${path.includes('?') ? '&' : '?'}${query}` };
}

/** Classes of a route's path parameter. */
function paramCases(spec: RouteSpec): HostileCase[] {
  const param = spec.param;
  if (param === undefined) return [];
  const route = `${spec.method} ${spec.pattern}`;
  const target = (value: string) => (w: World) => ({
    method: spec.method,
    target: param.path(w, value),
  });
  const invalidText = { status: 400, code: 'invalid_text', field: param.name };
  const badEncoding = { status: 400, code: 'invalid_path_encoding', field: 'path' };
  return (
    [
      ['U+0000 in it', 'a%00b', invalidText],
      ['only U+0000', '%00', invalidText],
      ['a truncated escape', '%E0%A4%A', badEncoding],
      ['an encoded lone surrogate', '%ED%A0%80', badEncoding],
      ['an overlong encoding of /', '%C0%AF', badEncoding],
      ['a lone %', 'a%', badEncoding],
      ['500 characters', 'x'.repeat(500), param.malformed],
      ['an encoded slash', 'a%2Fb', param.malformed],
      ['fullwidth letters (NFKC would fold them)', '%EF%BD%81%EF%BD%82', param.malformed],
      ['a space', 'a%20b', param.malformed],
    ] as const
  ).map(([name, value, answer]) => ({
    name: `${route}: ${param.name} with ${name}`,
    route,
    request: target(value),
    ...answer,
  }));
}

/** Classes of a route that reads a JSON body: the policy every such route shares. */
function bodyCases(spec: RouteSpec): HostileCase[] {
  const sample = spec.sample;
  const limit = spec.bodyBytesMax;
  if (sample === undefined || limit === undefined) return [];
  const route = `${spec.method} ${spec.pattern}`;
  const send =
    (body: string | Buffer, headers: Record<string, string> = {}, chunked = false) =>
    (w: World): RawRequest => ({
      method: 'POST',
      target: spec.path(w),
      headers: { 'Content-Type': 'application/json', ...headers },
      body,
      chunked,
    });
  const refused = (code: string, field: string) => ({ status: 415, code, field });
  const invalid = (code: string, field: string) => ({ status: 400, code, field });
  const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
  const table: Array<[string, (w: World) => RawRequest, Answer & { position?: number }]> = [
    [
      'no Content-Type',
      (w) => ({ method: 'POST', target: spec.path(w), body: '{}' }),
      refused('unsupported_media_type', 'content-type'),
    ],
    ...[
      'text/plain',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'application/json; charset=utf-8; charset=utf-8',
      'application/vnd.api+json',
      'application/json; foo=bar',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ].map((type): [string, (w: World) => RawRequest, Answer] => [
      `Content-Type ${type}`,
      send('{}', { 'Content-Type': type }),
      refused('unsupported_media_type', 'content-type'),
    ]),
    ...['gzip', 'compress', 'deflate', 'br', 'identity, gzip'].map(
      (coding): [string, (w: World) => RawRequest, Answer] => [
        `Content-Encoding ${coding} on a plain body`,
        send('{}', { 'Content-Encoding': coding }),
        refused('unsupported_content_encoding', 'content-encoding'),
      ],
    ),
    [
      'a gzip body',
      send(gzipSync('{}'), { 'Content-Encoding': 'gzip' }),
      refused('unsupported_content_encoding', 'content-encoding'),
    ],
    [
      'Content-Type in odd case, quoted charset, identity',
      (w) =>
        send(JSON.stringify(sample(w)), {
          'Content-Type': 'Application/JSON; Charset="UTF-8"',
          'Content-Encoding': 'identity',
        })(w),
      spec.answer,
    ],
    ['the sample body chunked', (w) => send(JSON.stringify(sample(w)), {}, true)(w), spec.answer],
    ['truncated JSON', send('{"a":'), { ...invalid('invalid_json', 'body'), position: 5 }],
    ['a byte-order mark', send('\ufeff{}'), { ...invalid('invalid_json', 'body'), position: 0 }],
    ['two JSON values', send('{} {}'), { ...invalid('invalid_json', 'body'), position: 3 }],
    [
      'an empty body',
      send(''),
      spec.emptyBody ?? { ...invalid('invalid_json', 'body'), position: 0 },
    ],
    [
      'bytes that are not UTF-8',
      send(Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d])),
      invalid('invalid_utf8', 'body'),
    ],
    [
      'a UTF-8 encoded surrogate',
      send(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22])),
      invalid('invalid_utf8', 'body'),
    ],
    [
      `${BODY_DEPTH_MAX + 1} levels of nesting`,
      send(deep(BODY_DEPTH_MAX + 1)),
      invalid('json_too_deep', '[0]'.repeat(BODY_DEPTH_MAX)),
    ],
    [
      '7,000 levels of nesting',
      send(deep(7000)),
      invalid('json_too_deep', '[0]'.repeat(BODY_DEPTH_MAX)),
    ],
    [
      'a __proto__ key',
      send('{"__proto__":{"admin":true}}'),
      invalid('forbidden_key', '__proto__'),
    ],
    [
      'a nested constructor key',
      send('{"a":{"b":[{"constructor":{}}]}}'),
      invalid('forbidden_key', 'a.b[0].constructor'),
    ],
    ['a prototype key', send('{"prototype":null}'), invalid('forbidden_key', 'prototype')],
    [
      'a declared length over the limit',
      send('{}', { 'Content-Length': String(limit + 1) }),
      { status: 413, code: 'payload_too_large', field: 'body' },
    ],
    [
      'a streamed body over the limit',
      send(`"${'x'.repeat(limit)}"`, {}, true),
      { status: 413, code: 'payload_too_large', field: 'body' },
    ],
  ];
  return table.map(([name, request, { position, ...answer }]) => ({
    name: `${route}: ${name}`,
    route,
    request,
    ...answer,
    check: position === undefined ? undefined : (a) => expect(a.json.error.position).toBe(position),
  }));
}

export const ROUTE_CASES: HostileCase[] = ROUTES.flatMap((spec) => [
  ...everyRouteCases(spec),
  ...paramCases(spec),
  ...bodyCases(spec),
]);
