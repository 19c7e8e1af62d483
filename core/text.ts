/**
 * Text PostgreSQL stores exactly as given. It refuses U+0000 in text and jsonb (a journal carrying
 * one was accepted, then stalled the projection of its partition). A lone UTF-16 surrogate has no
 * UTF-8 form: it would be stored as U+FFFD, and an identical retry would then differ from what was
 * stored (a 409 for the client's own retry). Both are refused at the edge, naming the field.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const STORABLE_TEXT_RULE = 'must not contain U+0000 or a lone UTF-16 surrogate';

export function isStorableText(value: string): boolean {
  return !value.includes('\u0000') && !LONE_SURROGATE.test(value);
}

/**
 * Every string of a JSON value, object keys included, is storable text. Iterative: the value may
 * come straight from a client, nested deeper than the call stack.
 */
export function isStorableJson(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === 'string') {
      if (!isStorableText(item)) return false;
    } else if (Array.isArray(item)) {
      for (const element of item) pending.push(element);
    } else if (item !== null && typeof item === 'object') {
      for (const [key, element] of Object.entries(item)) {
        if (!isStorableText(key)) return false;
        pending.push(element);
      }
    }
  }
  return true;
}
