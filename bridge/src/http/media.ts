/**
 * The one body policy every route shares (the lean router's and the express control plane's):
 * a JSON body is `application/json`, with no parameter or `charset=utf-8` (names and values
 * case-insensitive, the value optionally quoted), and is not content-encoded (`identity` or no
 * Content-Encoding). Anything else is a 415 naming the header. The bridge decodes no gzip: a
 * compressed body would only move the size limit from the wire to memory.
 */
import type http from 'node:http';
import { edgeError } from './edge-errors';

const JSON_MEDIA_TYPE = 'application/json';
const UTF8 = 'utf-8';

/** Why a Content-Type value is not one a JSON body may carry, or null when it is. */
export function contentTypeProblem(value: string | undefined): string | null {
  if (value === undefined || value.trim() === '') return 'the body has no Content-Type';
  const [type, ...parameters] = value.split(';');
  if (type!.trim().toLowerCase() !== JSON_MEDIA_TYPE) {
    return `Content-Type must be ${JSON_MEDIA_TYPE}`;
  }
  let charsets = 0;
  for (const parameter of parameters) {
    if (parameter.trim() === '') continue; // `application/json;` has an empty parameter list
    const equals = parameter.indexOf('=');
    const name = (equals === -1 ? parameter : parameter.slice(0, equals)).trim().toLowerCase();
    if (name !== 'charset') return `Content-Type parameter '${name.slice(0, 32)}' is not accepted`;
    let charset = parameter.slice(equals + 1).trim();
    if (charset.length >= 2 && charset.startsWith('"') && charset.endsWith('"')) {
      charset = charset.slice(1, -1);
    }
    if (equals === -1 || charset.toLowerCase() !== UTF8 || ++charsets > 1) {
      return 'the only charset accepted is utf-8, once';
    }
  }
  return null;
}

/** Why a Content-Encoding value is not identity, or null when the body is not encoded. */
export function contentEncodingProblem(value: string | undefined): string | null {
  if (value === undefined) return null;
  for (const coding of value.split(',')) {
    const name = coding.trim().toLowerCase();
    if (name !== '' && name !== 'identity') {
      return `Content-Encoding '${name.slice(0, 32)}' is not accepted; send the body as is`;
    }
  }
  return null;
}

/** Throws the 415 of a request whose body does not follow the policy. */
export function assertJsonBodyHeaders(headers: http.IncomingHttpHeaders): void {
  const type = contentTypeProblem(headers['content-type']);
  if (type !== null) throw edgeError('unsupported_media_type', { field: 'content-type' }, type);
  const encoding = contentEncodingProblem(headers['content-encoding']);
  if (encoding !== null) {
    throw edgeError('unsupported_content_encoding', { field: 'content-encoding' }, encoding);
  }
}
