/**
 * Bounds on a parsed JSON value, checked without recursion, before any schema sees it. A schema
 * library walks nested values on the call stack: 7,000 levels of `[` (14 KB of JSON) overflowed
 * zod's recursion and answered 500. This walk keeps its own stack, so its cost is bounded by the
 * limits it enforces, not by the input's shape.
 *
 * It also refuses the keys that reach an object's prototype machinery when the value is copied or
 * merged (`__proto__`, `constructor`, `prototype`). JSON.parse keeps `"__proto__"` as an own
 * property; a later spread or `Object.assign` would then set the copy's prototype instead of a key
 * (the key was silently dropped from stored metadata).
 */

export interface JsonTreeLimits {
  /** Containers nested deeper than this are refused; `{}` and `[]` are depth 1. */
  depthMax: number;
  /** Object keys plus array items over the whole tree, at every depth. */
  keysMax: number;
}

export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
]);

export type JsonPath = ReadonlyArray<string | number>;

export interface JsonTreeProblem {
  kind: 'too_deep' | 'too_many_keys' | 'forbidden_key';
  /**
   * Where: the first container deeper than allowed, the container whose keys passed the limit,
   * or the forbidden key itself.
   */
  path: JsonPath;
}

interface Frame {
  value: object;
  depth: number;
  key: string | number | null;
  parent: Frame | null;
}

function pathOf(frame: Frame | null, last?: string): Array<string | number> {
  const path: Array<string | number> = last === undefined ? [] : [last];
  for (let at = frame; at !== null && at.key !== null; at = at.parent) path.push(at.key);
  return path.reverse();
}

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/**
 * The first problem of `value` against `limits`, or null. Containers are visited depth first in
 * document order; a container's own keys are judged before its children are entered.
 */
export function findJsonTreeProblem(
  value: unknown,
  limits: JsonTreeLimits,
): JsonTreeProblem | null {
  if (!isContainer(value)) return null;
  const stack: Frame[] = [{ value, depth: 1, key: null, parent: null }];
  let keys = 0;
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.depth > limits.depthMax) return { kind: 'too_deep', path: pathOf(frame) };
    const node = frame.value;
    const names: Array<string | number> = Array.isArray(node) ? [] : Object.keys(node);
    const count = Array.isArray(node) ? node.length : names.length;
    keys += count;
    if (keys > limits.keysMax) return { kind: 'too_many_keys', path: pathOf(frame) };
    for (const name of names) {
      if (FORBIDDEN_KEYS.has(name as string)) {
        return { kind: 'forbidden_key', path: pathOf(frame, name as string) };
      }
    }
    // Pushed last child first, so the first child is the next one visited (document order).
    for (let i = count - 1; i >= 0; i--) {
      const key = Array.isArray(node) ? i : names[i]!;
      const child = (node as Record<string | number, unknown>)[key];
      if (isContainer(child))
        stack.push({ value: child, depth: frame.depth + 1, key, parent: frame });
    }
  }
  return null;
}

/** A path as the API names fields: `metadata.tags[2].name`. */
export function formatJsonPath(path: JsonPath): string {
  let field = '';
  for (const key of path) {
    if (typeof key === 'number') field += `[${key}]`;
    else field += field === '' ? key : `.${key}`;
  }
  return field;
}
