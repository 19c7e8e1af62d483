/**
 * Proves how the edge judges a request target (bridge/src/http/target.ts): absolute-form becomes
 * origin-form, a malformed percent-encoding in the path or the query is a 400 with a stable code
 * (never a URIError), and U+0000 in a decoded query parameter or path parameter is a 400 naming
 * it. Decoding agrees with URLSearchParams (what routes read) on every target that passes.
 */
import fc from 'fast-check';
import { checkParams, parseRequestTarget } from '../../../bridge/src/http/target';
import { freshSeed, replay } from '../../support/seed';

describe.each([
  ['/health', '/health', '/health'],
  ['/api/balance/a%2Fb?x=1', '/api/balance/a%2Fb?x=1', '/api/balance/a%2Fb'],
  ['http://example.com/health', '/health', '/health'],
  ['HTTPS://Example.COM:8443/api/journal/x?y=%20', '/api/journal/x?y=%20', '/api/journal/x'],
  ['http://example.com', '/', '/'],
  ['http://example.com?a=1', '/?a=1', '/'],
  ['/health#fragment', '/health', '/health'],
  ['/a?b=%E2%82%AC&c=+d+', '/a?b=%E2%82%AC&c=+d+', '/a'],
  ['/a?&&b', '/a?&&b', '/a'],
  ['//double/slash', '//double/slash', '//double/slash'],
])('target %j', (raw, url, path) => {
  it('is accepted as its origin-form', () => {
    expect(parseRequestTarget(raw)).toEqual({ url, path });
  });
});

describe.each([
  ['*', 'invalid_request_target', 'target'],
  ['example.com:443', 'invalid_request_target', 'target'],
  ['ftp://example.com/health', 'invalid_request_target', 'target'],
  ['health', 'invalid_request_target', 'target'],
  ['/api/accounts/%E0%A4%A', 'invalid_path_encoding', 'path'],
  ['/api/accounts/%', 'invalid_path_encoding', 'path'],
  ['/api/accounts/%zz', 'invalid_path_encoding', 'path'],
  ['/api/accounts/%ED%A0%80', 'invalid_path_encoding', 'path'], // an encoded lone surrogate
  ['/api/accounts/%C0%AF', 'invalid_path_encoding', 'path'], // overlong '/'
  ['/%FF/x', 'invalid_path_encoding', 'path'],
  ['/a?limit=%E0%A4%A', 'invalid_query_encoding', 'limit'],
  ['/a?%E0=1', 'invalid_query_encoding', 'query'],
  ['/a?x=%', 'invalid_query_encoding', 'x'],
  ['/a?x=%00', 'invalid_text', 'x'],
  ['/a?cursor=ab%00cd', 'invalid_text', 'cursor'],
  ['/a?%00=1', 'invalid_text', 'query'],
  ['http://h/a?x=%00', 'invalid_text', 'x'],
])('target %j', (raw, code, field) => {
  it(`is a 400 ${code} naming ${field}`, () => {
    expect(() => parseRequestTarget(raw)).toThrow(
      expect.objectContaining({ httpStatus: 400, code, field }),
    );
  });
});

it('refuses a path parameter that is not storable text, by name', () => {
  expect(() => checkParams(['accountId'], ['ok'])).not.toThrow();
  expect(() => checkParams(['journalId', 'name'], ['ok', 'a\u0000b'])).toThrow(
    expect.objectContaining({ httpStatus: 400, code: 'invalid_text', field: 'name' }),
  );
});

const SEED = freshSeed();

/**
 * The reference: strict form decoding the obvious way, pair by pair in order; the first pair that
 * does not decode or is not storable text decides the refusal.
 */
function reference(query: string): { refusal: string } | Array<[string, string]> {
  const decode = (text: string) => decodeURIComponent(text.replace(/\+/g, ' '));
  const pairs: Array<[string, string]> = [];
  for (const pair of query.split('&').filter((p) => p !== '')) {
    const equals = pair.indexOf('=');
    let decoded: [string, string];
    try {
      decoded =
        equals === -1
          ? [decode(pair), '']
          : [decode(pair.slice(0, equals)), decode(pair.slice(equals + 1))];
    } catch {
      return { refusal: 'invalid_query_encoding' };
    }
    if (decoded.join('').includes('\u0000')) return { refusal: 'invalid_text' };
    pairs.push(decoded);
  }
  return pairs;
}

test(`a query passes exactly when it decodes strictly, as URLSearchParams reads it ${replay(SEED)}`, () => {
  const query = fc.stringMatching(/^(?:[A-Za-z0-9=&+]|%[0-9A-Fa-f]{0,2}|%00|%E2%82%AC)*$/);
  fc.assert(
    fc.property(query, (text) => {
      let refusal: string | null = null;
      try {
        parseRequestTarget(`/a?${text}`);
      } catch (error) {
        refusal = (error as { code: string }).code;
      }
      const expected = reference(text);
      if (!Array.isArray(expected)) expect(refusal).toBe(expected.refusal);
      else {
        expect(refusal).toBeNull();
        expect([...new URLSearchParams(text)]).toEqual(expected);
      }
    }),
    { seed: SEED, numRuns: 2_000 },
  );
});
