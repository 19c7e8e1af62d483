/**
 * The refusals of the HTTP edge: what is judged before a route's own validation runs (the request
 * target, the method, the body's media type, encoding, size, JSON syntax and shape bounds). A
 * closed set of stable codes, each with its status: a new code does not compile until it has both.
 * Every answer names where the problem is (`field`: a header name, `path`, a query or path
 * parameter, or a JSON path into the body).
 */
import {
  formatJsonPath,
  type JsonPath,
  type JsonTreeLimits,
  type JsonTreeProblem,
} from '../../../core/json-tree';
import { ApiError } from './api-error';

export type EdgeErrorCode =
  | 'missing_host'
  | 'expectation_failed'
  | 'invalid_request_target'
  | 'invalid_path_encoding'
  | 'invalid_query_encoding'
  | 'invalid_text'
  | 'route_not_found'
  | 'method_not_allowed'
  | 'unsupported_media_type'
  | 'unsupported_content_encoding'
  | 'payload_too_large'
  | 'body_unreadable'
  | 'invalid_utf8'
  | 'invalid_json'
  | 'json_too_deep'
  | 'json_too_many_keys'
  | 'forbidden_key';

export interface EdgeErrorInfo {
  httpStatus: 400 | 404 | 405 | 413 | 415 | 417;
  /** What the code means; the default message. */
  message: string;
}

export const EDGE_ERRORS: Readonly<Record<EdgeErrorCode, EdgeErrorInfo>> = {
  missing_host: {
    httpStatus: 400,
    message: 'an HTTP/1.1 request must have exactly one Host header',
  },
  expectation_failed: {
    httpStatus: 417,
    message: 'the only expectation the server meets is Expect: 100-continue',
  },
  invalid_request_target: {
    httpStatus: 400,
    message: 'the request target must be a path (/…) or an absolute http(s) URL',
  },
  invalid_path_encoding: { httpStatus: 400, message: 'the path has a malformed percent-encoding' },
  invalid_query_encoding: {
    httpStatus: 400,
    message: 'the query string has a malformed percent-encoding',
  },
  invalid_text: {
    httpStatus: 400,
    message: 'text must not contain U+0000 or a lone UTF-16 surrogate',
  },
  route_not_found: { httpStatus: 404, message: 'no route has this path' },
  method_not_allowed: { httpStatus: 405, message: 'the route does not take this method' },
  unsupported_media_type: {
    httpStatus: 415,
    message: 'the body must be application/json, without a charset or with charset=utf-8',
  },
  unsupported_content_encoding: {
    httpStatus: 415,
    message: 'the body must not be encoded (Content-Encoding: identity or none)',
  },
  payload_too_large: { httpStatus: 413, message: 'the body is larger than this route accepts' },
  body_unreadable: { httpStatus: 400, message: 'the body could not be read to its end' },
  invalid_utf8: { httpStatus: 400, message: 'the body is not valid UTF-8' },
  invalid_json: { httpStatus: 400, message: 'the body is not valid JSON' },
  json_too_deep: { httpStatus: 400, message: 'the JSON is nested deeper than allowed' },
  json_too_many_keys: { httpStatus: 400, message: 'the JSON has more keys than allowed' },
  forbidden_key: {
    httpStatus: 400,
    message: 'JSON keys must not be __proto__, constructor or prototype',
  },
};

export const EDGE_ERROR_CODES = Object.keys(EDGE_ERRORS) as EdgeErrorCode[];

/** Where the problem is, and any other fact for the client. */
export interface EdgeFacts {
  field: string;
  [extra: string]: unknown;
}

export function edgeError(
  code: EdgeErrorCode,
  facts: EdgeFacts,
  message: string = EDGE_ERRORS[code].message,
  headers: Record<string, string> = {},
): ApiError {
  return new ApiError(EDGE_ERRORS[code].httpStatus, code, message, facts, headers);
}

const TREE_CODES: Record<JsonTreeProblem['kind'], EdgeErrorCode> = {
  too_deep: 'json_too_deep',
  too_many_keys: 'json_too_many_keys',
  forbidden_key: 'forbidden_key',
};

/**
 * A JSON tree problem (core/json-tree.ts) as the API's answer; `prefix` is where the checked value
 * sits in the body (e.g. `['metadata']`), `limits` the bounds it was checked against.
 */
export function jsonTreeError(
  problem: JsonTreeProblem,
  prefix: JsonPath,
  limits: JsonTreeLimits,
): ApiError {
  const code = TREE_CODES[problem.kind];
  const field = formatJsonPath([...prefix, ...problem.path]) || 'body';
  const bound =
    problem.kind === 'too_deep'
      ? ` (at most ${limits.depthMax} levels)`
      : problem.kind === 'too_many_keys'
        ? ` (at most ${limits.keysMax} keys and items)`
        : '';
  return edgeError(code, { field }, `${field}: ${EDGE_ERRORS[code].message}${bound}`);
}
