/**
 * Proves the body reader's checks after the headers (bridge/src/http/body.ts): bytes that are
 * not UTF-8, JSON that breaks (with the position where it does, which agrees with JSON.parse on
 * what is JSON at all, for random near-JSON text), nesting past BODY_DEPTH_MAX and prototype keys
 * anywhere, each a 400 with a stable code naming where; and that the account route's metadata
 * bounds hold before zod's recursion could overflow (it did at 7,000 levels).
 */
import fc from 'fast-check';
import { parseCreateAccount } from '../../../bridge/src/accounts/validation';
import { BODY_DEPTH_MAX, parseJsonBody } from '../../../bridge/src/http/body';
import { jsonErrorOffset } from '../../../bridge/src/http/json-position';
import { freshSeed, replay } from '../../support/seed';

function refusal(run: () => unknown): Record<string, unknown> | null {
  try {
    run();
    return null;
  } catch (error) {
    const { httpStatus, code, field } = error as Record<string, unknown>;
    const position = (error as { details?: () => Record<string, unknown> }).details?.().position;
    return position === undefined
      ? { httpStatus, code, field }
      : { httpStatus, code, field, position };
  }
}

const body = (text: string | Buffer) => () =>
  parseJsonBody(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);

describe.each<[string, string | Buffer, Record<string, unknown> | null]>([
  ['an object', '{"a":[1,2,{"b":null}]}', null],
  ['a scalar', '  42 ', null],
  ['a lone surrogate escape (JSON allows it; fields refuse it)', '"\\ud800"', null],
  ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]), { code: 'invalid_utf8' }],
  ['an overlong UTF-8 form', Buffer.from([0x22, 0xc0, 0xaf, 0x22]), { code: 'invalid_utf8' }],
  [
    'a UTF-8 encoded surrogate',
    Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]),
    { code: 'invalid_utf8' },
  ],
  ['nothing', '', { code: 'invalid_json', position: 0 }],
  ['a BOM', '\ufeff{}', { code: 'invalid_json', position: 0 }],
  ['a missing value', '{"a":}', { code: 'invalid_json', position: 5 }],
  ['a trailing comma', '[1,2,]', { code: 'invalid_json', position: 5 }],
  ['an unclosed object', '{"a":1', { code: 'invalid_json', position: 6 }],
  ['trailing text', '{} x', { code: 'invalid_json', position: 3 }],
  ['a leading zero', '{"a":01}', { code: 'invalid_json', position: 6 }],
  ['a raw control character', '"a\u0001b"', { code: 'invalid_json', position: 2 }],
  ['a bad escape', '"\\x"', { code: 'invalid_json', position: 2 }],
  ['NaN', '{"a":NaN}', { code: 'invalid_json', position: 5 }],
  ['a single-quoted string', "{'a':1}", { code: 'invalid_json', position: 1 }],
  [`${BODY_DEPTH_MAX} levels`, '['.repeat(BODY_DEPTH_MAX) + ']'.repeat(BODY_DEPTH_MAX), null],
  [
    `${BODY_DEPTH_MAX + 1} levels`,
    '{"a":' + '['.repeat(BODY_DEPTH_MAX) + ']'.repeat(BODY_DEPTH_MAX) + '}',
    { code: 'json_too_deep', field: `a${'[0]'.repeat(BODY_DEPTH_MAX - 1)}` },
  ],
  [
    '1,000,000 levels',
    '['.repeat(1_000_000) + ']'.repeat(1_000_000),
    { code: 'json_too_deep', field: '[0]'.repeat(BODY_DEPTH_MAX) },
  ],
  ['__proto__', '{"a":{"__proto__":{}}}', { code: 'forbidden_key', field: 'a.__proto__' }],
  [
    'constructor',
    '[{"constructor":{"prototype":1}}]',
    { code: 'forbidden_key', field: '[0].constructor' },
  ],
  ['prototype', '{"prototype":1}', { code: 'forbidden_key', field: 'prototype' }],
])('a body of %s', (_name, text, expected) => {
  it(expected === null ? 'is read' : `is a 400 ${String(expected.code)}`, () => {
    const found = refusal(body(text));
    if (expected === null) expect(found).toBeNull();
    else expect(found).toEqual({ httpStatus: 400, field: 'body', ...expected });
  });
});

describe('account metadata, before zod', () => {
  const account = (metadata: string) =>
    JSON.parse(
      `{"accountId":"a","name":"n","holderId":"h","accountType":"asset","asset":"USD",` +
        `"metadata":${metadata}}`,
    );
  it.each<[string, string, Record<string, unknown>]>([
    ['7,000 levels', '['.repeat(7000) + ']'.repeat(7000), { code: 'json_too_deep' }],
    ['33 levels', '{"a":' + '['.repeat(32) + ']'.repeat(32) + '}', { code: 'json_too_deep' }],
    [
      '1,001 keys and items',
      JSON.stringify({ list: Array.from({ length: 1000 }, () => 0) }),
      { code: 'json_too_many_keys', field: 'metadata.list' },
    ],
    [
      '__proto__',
      '{"__proto__":{"admin":true}}',
      { code: 'forbidden_key', field: 'metadata.__proto__' },
    ],
  ])('%s is a typed 400 naming the path', (_name, metadata, expected) => {
    expect(refusal(() => parseCreateAccount(account(metadata)))).toMatchObject({
      httpStatus: 400,
      ...expected,
    });
  });

  it('32 levels and 1,000 keys and items pass the bounds', () => {
    const deep = '{"a":' + '['.repeat(31) + ']'.repeat(31) + '}';
    expect(() => parseCreateAccount(account(deep))).not.toThrow();
    const wide = JSON.stringify({ list: Array.from({ length: 999 }, () => 0) });
    expect(() => parseCreateAccount(account(wide))).not.toThrow();
  });
});

const SEED = freshSeed();

/** Valid JSON with a few characters changed, dropped or doubled: mostly near-misses. */
const nearJson = fc
  .tuple(
    fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value, null, 1)),
    fc.array(fc.tuple(fc.nat(), fc.constantFrom(...'",:[]{}\\-.e0nu\u0001\t '.split(''), '')), {
      maxLength: 3,
    }),
  )
  .map(([text, edits]) =>
    edits.reduce((t, [at, c]) => {
      const i = t.length === 0 ? 0 : at % (t.length + 1);
      return t.slice(0, i) + c + t.slice(i + (c === '' ? 1 : 0));
    }, text),
  );

test(`the error position exists exactly when JSON.parse fails ${replay(SEED)}`, () => {
  fc.assert(
    fc.property(nearJson, (text) => {
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      const offset = jsonErrorOffset(text);
      if (valid) expect(offset).toBeNull();
      else {
        expect(offset).not.toBeNull();
        expect(offset).toBeLessThanOrEqual(text.length);
        // Nothing before the offset breaks the grammar: the prefix is JSON or breaks at its end.
        expect([null, offset]).toContain(jsonErrorOffset(text.slice(0, offset!)));
      }
    }),
    { seed: SEED, numRuns: 3_000 },
  );
});
