/**
 * Proves the iterative JSON bounds checker (core/json-tree.ts) on hand-picked shapes, on shapes
 * far deeper than the call stack (where a recursive walk, zod's included, throws), and, for random
 * JSON values, against a recursive reference: both find a problem exactly when the value is too
 * deep, has too many keys and items, or has a prototype key; the path named is the reference's.
 * Seeded: a failure prints its seed; rerun with SEED=<seed>.
 */
import fc from 'fast-check';
import {
  findJsonTreeProblem,
  FORBIDDEN_KEYS,
  formatJsonPath,
  type JsonTreeLimits,
  type JsonTreeProblem,
} from '../../../core/json-tree';
import { isStorableJson } from '../../../core/text';
import { freshSeed, replay } from '../../support/seed';

const LIMITS: JsonTreeLimits = { depthMax: 3, keysMax: 6 };

function nested(levels: number, open: string, close: string, inner = '1'): unknown {
  return JSON.parse(open.repeat(levels) + inner + close.repeat(levels));
}

describe.each<[string, unknown, JsonTreeProblem | null]>([
  ['a scalar', 7, null],
  ['null', null, null],
  ['an empty object', {}, null],
  ['three levels', { a: { b: [1] } }, null],
  ['four levels', { a: { b: [[1]] } }, { kind: 'too_deep', path: ['a', 'b', 0] }],
  ['six keys and items in all', { a: 1, b: [1, 2], c: { d: 1 } }, null],
  [
    'seven keys and items in all',
    { a: 1, b: [1, 2], c: { d: 1, e: 2 } },
    { kind: 'too_many_keys', path: ['c'] },
  ],
  [
    '__proto__, which JSON.parse keeps as an own key',
    JSON.parse('{"__proto__":{"x":1}}'),
    { kind: 'forbidden_key', path: ['__proto__'] },
  ],
  [
    'a nested constructor',
    { a: [{ constructor: 1 }] },
    { kind: 'forbidden_key', path: ['a', 0, 'constructor'] },
  ],
  ['prototype', { a: { prototype: {} } }, { kind: 'forbidden_key', path: ['a', 'prototype'] }],
  ['prototype as a value, not a key', { a: 'prototype' }, null],
  ['a key that only starts like one', { __proto__x: 1, Constructor: 2 }, null],
])('findJsonTreeProblem: %s', (_name, value, expected) => {
  it('finds the expected problem, as the reference does', () => {
    const problem = findJsonTreeProblem(value, LIMITS);
    expect(problem).toEqual(expected);
    expect(problem).toEqual(reference(value, LIMITS));
  });
});

describe.each([
  ['arrays', '[', ']'],
  ['objects', '{"a":', '}'],
])('100,000 levels of %s', (_name, open, close) => {
  const deep = nested(100_000, open, close);
  it('are refused at the first level past the limit, without recursion', () => {
    const problem = findJsonTreeProblem(deep, { depthMax: 32, keysMax: Infinity });
    expect(problem?.kind).toBe('too_deep');
    expect(problem?.path).toHaveLength(32);
  });
  it('are checked for text without recursion', () => {
    expect(isStorableJson(deep)).toBe(true);
    expect(isStorableJson(nested(100_000, open, close, '"\\u0000"'))).toBe(false);
  });
});

it('formats paths as the API names fields', () => {
  expect(formatJsonPath(['metadata', 'tags', 2, 'name'])).toBe('metadata.tags[2].name');
  expect(formatJsonPath([0, 'a'])).toBe('[0].a');
  expect(formatJsonPath([])).toBe('');
});

/**
 * The reference: recursive, obviously right, and in the checker's order (a container's own count
 * and keys before its children, children in document order, the key count running over the tree).
 */
function reference(value: unknown, limits: JsonTreeLimits): JsonTreeProblem | null {
  let keys = 0;
  const visit = (
    node: unknown,
    depth: number,
    path: Array<string | number>,
  ): JsonTreeProblem | null => {
    if (typeof node !== 'object' || node === null) return null;
    if (depth > limits.depthMax) return { kind: 'too_deep' as const, path };
    const entries: Array<[string | number, unknown]> = Array.isArray(node)
      ? node.map((item, i) => [i, item])
      : Object.keys(node).map((key) => [key, (node as Record<string, unknown>)[key]]);
    keys += entries.length;
    if (keys > limits.keysMax) return { kind: 'too_many_keys' as const, path };
    for (const [key] of entries) {
      if (typeof key === 'string' && FORBIDDEN_KEYS.has(key)) {
        return { kind: 'forbidden_key' as const, path: [...path, key] };
      }
    }
    for (const [key, child] of entries) {
      const found = visit(child, depth + 1, [...path, key]);
      if (found !== null) return found;
    }
    return null;
  };
  return visit(value, 1, []);
}

const SEED = freshSeed();

/**
 * Random JSON, sometimes with a forbidden key beside or above it, built by JSON.parse as a
 * request body is (so `__proto__` is an own key).
 */
const jsonWithHostileKeys = fc
  .tuple(
    fc.jsonValue({ maxDepth: 7 }),
    fc.constantFrom(null, ...FORBIDDEN_KEYS),
    fc.constantFrom('wrap', 'beside'),
  )
  .map(([value, key, where]) => {
    const text = JSON.stringify(value);
    if (key === null) return JSON.parse(text);
    return JSON.parse(where === 'wrap' ? `{"${key}":${text}}` : `[${text},{"${key}":0}]`);
  });

test(`agrees with the recursive reference on random JSON ${replay(SEED)}`, () => {
  fc.assert(
    fc.property(
      jsonWithHostileKeys,
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 0, max: 60 }),
      (value, depthMax, keysMax) => {
        const limits = { depthMax, keysMax };
        expect(findJsonTreeProblem(value, limits)).toEqual(reference(value, limits));
      },
    ),
    { seed: SEED, numRuns: 2_000 },
  );
});
