/**
 * The request target, judged once for every route before any of them reads it:
 * - origin-form (`/path?query`) as is; absolute-form (`http://host/path?query`, which HTTP/1.1
 *   servers must accept) becomes its origin-form; anything else (`*`, `host:port`) is a 400;
 * - every path segment and every query name and value percent-decodes strictly (a malformed
 *   escape is a 400, never a URIError deep in a route: 500);
 * - every decoded query name and value, and every path parameter, is text PostgreSQL can store
 *   as given (core/text.ts): no U+0000, no lone surrogate; else a 400 naming the parameter.
 * Routes then read `req.url` with their own parsers, which agree with strict decoding on
 * every target that passed.
 */
import { isStorableText } from '../../../core/text';
import { edgeError } from './edge-errors';

export interface RequestTarget {
  /** Origin-form: what `req.url` becomes. */
  url: string;
  /** The path, still percent-encoded (routes match and decode segments themselves). */
  path: string;
}

const ABSOLUTE_FORM = /^https?:\/\/[^/?#]*/i;

export function parseRequestTarget(raw: string): RequestTarget {
  let url = raw;
  if (!url.startsWith('/')) {
    const scheme = ABSOLUTE_FORM.exec(url);
    if (scheme === null) throw edgeError('invalid_request_target', { field: 'target' });
    url = url.slice(scheme[0].length);
    if (!url.startsWith('/')) url = `/${url}`;
  }
  const hash = url.indexOf('#'); // not part of a request target; clients should not send one
  if (hash !== -1) url = url.slice(0, hash);
  const mark = url.indexOf('?');
  const path = mark === -1 ? url : url.slice(0, mark);
  checkPath(path);
  if (mark !== -1) checkQuery(url.slice(mark + 1));
  return { url, path };
}

function checkPath(path: string): void {
  if (!path.includes('%')) return;
  for (const segment of path.split('/')) {
    if (strictDecode(segment) === null) throw edgeError('invalid_path_encoding', { field: 'path' });
  }
}

/** Query strings decode as forms do (`+` is a space), but a malformed escape is refused. */
function checkQuery(query: string): void {
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = strictDecode((equals === -1 ? pair : pair.slice(0, equals)).replace(/\+/g, ' '));
    const value = equals === -1 ? '' : strictDecode(pair.slice(equals + 1).replace(/\+/g, ' '));
    if (name === null || value === null) {
      throw edgeError('invalid_query_encoding', { field: name ?? 'query' });
    }
    if (!isStorableText(name) || !isStorableText(value)) {
      throw edgeError('invalid_text', { field: isStorableText(name) ? name : 'query' });
    }
  }
}

/** A route's decoded parameters, by name: each must be storable text. */
export function checkParams(names: readonly string[], values: readonly string[]): void {
  for (let i = 0; i < values.length; i++) {
    if (!isStorableText(values[i]!)) throw edgeError('invalid_text', { field: names[i]! });
  }
}

function strictDecode(text: string): string | null {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}
