/**
 * Proves what text the edge lets through to PostgreSQL: everything well-formed, emoji (surrogate
 * pairs) included, and nothing with U+0000 or a lone surrogate, in strings and in JSON keys and
 * values at any depth.
 */
import { isStorableJson, isStorableText } from '../../../core/text';

describe.each([
  ['plain ASCII', 'cash at bank', true],
  ['the empty string', '', true],
  ['an emoji (a surrogate pair)', 'tip 😀', true],
  ['CJK and combining marks', '東京 é', true],
  ['U+0000', 'a\u0000b', false],
  ['a lone high surrogate', 'a\ud83d', false],
  ['a lone low surrogate', '\ude00b', false],
  ['two high surrogates', '\ud83d\ud83d\ude00', false],
])('isStorableText: %s', (_name, text, storable) => {
  it(storable ? 'is stored as given' : 'is refused', () => {
    expect(isStorableText(text)).toBe(storable);
    expect(isStorableJson({ nested: [{ [text]: text }] })).toBe(storable);
  });
});
