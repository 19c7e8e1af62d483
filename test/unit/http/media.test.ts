/**
 * Proves the one body policy of every route (bridge/src/http/media.ts): which Content-Type and
 * Content-Encoding values a JSON body may carry, and that every other one is a 415 with a stable
 * code naming the header.
 */
import { ApiError } from '../../../bridge/src/http/api-error';
import {
  assertJsonBodyHeaders,
  contentEncodingProblem,
  contentTypeProblem,
} from '../../../bridge/src/http/media';

describe.each([
  'application/json',
  'APPLICATION/JSON',
  'Application/Json ',
  'application/json; charset=utf-8',
  'application/json;charset=UTF-8',
  'application/json; CHARSET="utf-8"',
  'application/json ; charset = utf-8',
  'application/json;',
])('Content-Type %j', (value) => {
  it('is accepted', () => expect(contentTypeProblem(value)).toBeNull());
});

describe.each([
  undefined,
  '',
  '   ',
  'text/plain',
  'text/json',
  'application/jsonx',
  'application/json5',
  'application/vnd.api+json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '*/*',
  'application/*',
  'application/json; charset=latin1',
  'application/json; charset=iso-8859-1',
  'application/json; charset=utf-16',
  'application/json; charset=utf8',
  'application/json; charset=',
  'application/json; charset',
  'application/json; charset="utf-8',
  'application/json; charset=utf-8; charset=utf-8',
  'application/json; charset=utf-8; boundary=x',
  'application/json; foo=bar',
  'application/json, text/plain',
])('Content-Type %j', (value) => {
  it('is refused', () => {
    expect(contentTypeProblem(value)).toEqual(expect.any(String));
    expect(() => assertJsonBodyHeaders({ 'content-type': value })).toThrow(
      expect.objectContaining({
        httpStatus: 415,
        code: 'unsupported_media_type',
        field: 'content-type',
      }),
    );
  });
});

describe.each([undefined, '', 'identity', 'IDENTITY', ' identity ', 'identity, identity'])(
  'Content-Encoding %j',
  (value) => {
    it('is no encoding', () => expect(contentEncodingProblem(value)).toBeNull());
  },
);

describe.each(['gzip', 'x-gzip', 'compress', 'deflate', 'br', 'zstd', 'identity, gzip', 'bogus'])(
  'Content-Encoding %j',
  (value) => {
    it('is a 415 naming the header', () => {
      let thrown: unknown;
      try {
        assertJsonBodyHeaders({ 'content-type': 'application/json', 'content-encoding': value });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ApiError);
      expect((thrown as ApiError).body()).toEqual({
        error: {
          code: 'unsupported_content_encoding',
          message: expect.stringContaining('is not accepted'),
          field: 'content-encoding',
        },
      });
    });
  },
);

it('judges the media type before the encoding', () => {
  expect(() =>
    assertJsonBodyHeaders({ 'content-type': 'text/plain', 'content-encoding': 'gzip' }),
  ).toThrow(expect.objectContaining({ code: 'unsupported_media_type' }));
});
