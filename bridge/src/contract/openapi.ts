/**
 * The API's contract as an OpenAPI 3.1 document, built from the declared operations
 * (./operations-*.ts) and the rooms' own zod schemas: every route with its scope, parameters,
 * body, answers with their headers, and every (status, code) it can refuse with. Served at
 * /openapi.json (./routes.ts); Schemathesis fuzzes the running API from it (test/fuzz/).
 */
import { ANY_REQUEST, edge, type ErrorPair, JSON_BODY, KEYED, meaningOf } from './errors';
import { type JsonSchema, SchemaConverter } from './json-schema';
import { JSON_MEDIA, type HeaderSpec, type Operation, type Param, type Reply } from './operation';
import { ACCOUNT_OPERATIONS } from './operations-accounts';
import { JOURNAL_OPERATIONS } from './operations-journal';
import { SERVICE_OPERATIONS } from './operations-service';
import { ErrorBody } from './schemas';

export const OPERATIONS: readonly Operation[] = [
  ...JOURNAL_OPERATIONS,
  ...ACCOUNT_OPERATIONS,
  ...SERVICE_OPERATIONS,
];

export type OpenApiDocument = Record<string, unknown> & {
  paths: Record<string, Record<string, Record<string, unknown>>>;
};

const SECURITY_SCHEME = 'apiKey';
const ERROR_REF = { $ref: '#/components/schemas/ErrorBody' };

const OVERVIEW = [
  'A double-entry journal and balance service over TigerBeetle.',
  '',
  '**Amounts** are integers in the asset’s minor units: sent as JSON numbers (safe integers) or',
  'decimal strings, always answered as decimal strings (u128 does not fit a JSON number).',
  '',
  '**Keys.** Every route but the public ones needs `Authorization: Bearer <key>` with the',
  'operation’s scope (`x-scope`): 401 `key_missing` / `key_invalid`, 403 `scope_missing`,',
  '403 `key_restricted` (the key is restricted to other assets or holders), 429 `rate_limited`',
  '(with `Retry-After` and the `RateLimit-*` headers, which every keyed answer carries while',
  'rate limits are on).',
  '',
  '**Errors** are `{"error": {"code", "message", "field?", "line?", ...}}` with stable codes;',
  'each operation lists the codes it can answer, per status. 503s carry `Retry-After`: retrying',
  'the same request is always safe (writes are idempotent).',
  '',
  '**Tokens.** A posting answers `Consistency-Token` (reads of the projections wait for it) and',
  '`Balance-Token` (balance reads include the posting).',
].join('\n');

const header = (description: string, pattern?: string, required = true) => ({
  description,
  required,
  schema: pattern === undefined ? { type: 'string' } : { type: 'string', pattern },
});

/** The key's bucket for the route's scope: on every keyed answer when rate limits are on. */
const RATE_LIMIT_HEADERS = {
  'RateLimit-Limit': header("the bucket's size (requests)", '^[0-9]+$', false),
  'RateLimit-Remaining': header('requests left in the bucket', '^[0-9]+$', false),
  'RateLimit-Reset': header('seconds until the bucket is full again', '^[0-9]+$', false),
  'RateLimit-Policy': header('`<limit>;w=<window seconds>`', '^[0-9]+;w=[0-9]+$', false),
};
const RETRY_AFTER = { 'Retry-After': header('seconds to wait before retrying', '^[0-9]+$') };

/** Headers every answer with this status carries (or may carry, when not required). */
const ERROR_HEADERS: Record<number, Record<string, unknown>> = {
  401: { 'WWW-Authenticate': header('`Bearer realm="ledger-bridge"`') },
  403: { 'WWW-Authenticate': header('scope_missing: the scope needed', undefined, false) },
  405: { Allow: header('the methods the path takes') },
  425: RETRY_AFTER,
  // rate_limited carries the key's bucket; nginx's client_rate_limited only Retry-After.
  429: { ...RETRY_AFTER, ...RATE_LIMIT_HEADERS },
  503: RETRY_AFTER,
};

export function buildOpenApi(version: string): OpenApiDocument {
  const converter = new SchemaConverter();
  const paths: OpenApiDocument['paths'] = {};
  for (const op of OPERATIONS) {
    const path = op.pattern.replace(/:([A-Za-z]+)/g, '{$1}');
    paths[path] ??= {};
    paths[path][op.method.toLowerCase()] = operationObject(op, converter);
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Ledger Bridge', version, description: OVERVIEW },
    tags: [...new Set(OPERATIONS.map((op) => op.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        [SECURITY_SCHEME]: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'lbk_<id>_<secret>',
          description: 'An API key (`ledger-bridge keys create`); each operation names its scope.',
        },
      },
      schemas: { ErrorBody: converter.convert(ErrorBody, 'output'), ...converter.shared },
      responses: {
        RouteNotFound: errorResponse([edge('route_not_found')], 'no route has this path'),
        MethodNotAllowed: errorResponse(
          [edge('method_not_allowed')],
          'the path takes other methods (listed in `Allow`; HEAD wherever GET is)',
          405,
        ),
      },
      headers: RATE_LIMIT_HEADERS,
    },
  };
}

function operationObject(op: Operation, converter: SchemaConverter): Record<string, unknown> {
  const scope = op.access === 'public' ? null : op.access.scope;
  const scoped = scope !== null;
  const object: Record<string, unknown> = {
    operationId: op.id,
    tags: [op.tag],
    summary: op.summary,
    description: [op.description, scoped ? `Needs scope \`${scope}\`.` : 'Public.']
      .filter((line) => line !== undefined)
      .join('\n\n'),
    security: scoped ? [{ [SECURITY_SCHEME]: [scope] }] : [],
  };
  if (scoped) object['x-scope'] = scope;
  const parameters = [
    ...params(op.params, 'path', converter),
    ...params(op.query, 'query', converter),
    ...params(op.headers, 'header', converter),
  ];
  if (parameters.length > 0) object.parameters = parameters;
  if (op.body !== undefined) {
    object.requestBody = {
      required: op.body.required,
      ...(op.body.description === undefined ? {} : { description: op.body.description }),
      content: {
        [JSON_MEDIA]: {
          schema: converter.convert(op.body.schema, 'input'),
          ...(op.body.examples === undefined ? {} : { examples: namedExamples(op.body.examples) }),
        },
      },
    };
  }
  const responses: Record<string, unknown> = {};
  for (const [status, reply] of Object.entries(op.responses)) {
    responses[status] = successResponse(reply, scoped, converter);
  }
  const pairs = [
    ...ANY_REQUEST,
    ...(op.body === undefined ? [] : JSON_BODY),
    ...(scoped ? KEYED : []),
    ...op.errors,
  ];
  for (const [status, group] of byStatus(pairs)) responses[status] = errorResponse(group);
  object.responses = responses;
  return object;
}

function params(
  declared: Record<string, Param> | undefined,
  where: 'path' | 'query' | 'header',
  converter: SchemaConverter,
): JsonSchema[] {
  return Object.entries(declared ?? {}).map(([name, param]) => ({
    name,
    in: where,
    required: where === 'path' || param.required === true,
    description: param.description,
    schema: converter.convert(param.schema, 'input'),
    ...(param.example === undefined ? {} : { example: param.example }),
  }));
}

function namedExamples(examples: Record<string, unknown>): Record<string, { value: unknown }> {
  return Object.fromEntries(Object.entries(examples).map(([name, value]) => [name, { value }]));
}

function successResponse(reply: Reply, scoped: boolean, converter: SchemaConverter): JsonSchema {
  const media = reply.media ?? [JSON_MEDIA];
  const schema = reply.schema === undefined ? {} : converter.convert(reply.schema, 'output');
  const headers: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(reply.headers ?? {})) {
    headers[name] = headerObject(spec, converter);
  }
  if (scoped) {
    for (const name of Object.keys(RATE_LIMIT_HEADERS)) {
      headers[name] = { $ref: `#/components/headers/${name}` };
    }
  }
  return {
    description: reply.description,
    ...(Object.keys(headers).length === 0 ? {} : { headers }),
    content: Object.fromEntries(media.map((type) => [type, { schema }])),
  };
}

function headerObject(spec: HeaderSpec, converter: SchemaConverter): JsonSchema {
  return {
    description: spec.description,
    required: spec.required,
    schema: converter.convert(spec.schema, 'output'),
  };
}

function byStatus(pairs: readonly ErrorPair[]): Array<[number, ErrorPair[]]> {
  const groups = new Map<number, ErrorPair[]>();
  for (const pair of pairs) {
    const group = groups.get(pair[0]) ?? [];
    if (!group.some(([, code]) => code === pair[1])) group.push(pair);
    groups.set(pair[0], group);
  }
  return [...groups].sort(([a], [b]) => a - b);
}

/** One status's refusals: the error shape with `code` one of them, each code with its meaning. */
function errorResponse(group: readonly ErrorPair[], lead?: string, status?: number): JsonSchema {
  const codes = group.map(([, code]) => code);
  const lines = codes.map((code) => `- \`${code}\`: ${meaningOf(code)}`);
  const headers = ERROR_HEADERS[status ?? group[0]![0]];
  return {
    description: [lead, ...lines].filter((line) => line !== undefined).join('\n'),
    ...(headers === undefined ? {} : { headers }),
    content: {
      [JSON_MEDIA]: {
        schema: {
          allOf: [ERROR_REF, { properties: { error: { properties: { code: { enum: codes } } } } }],
        },
      },
    },
  };
}
