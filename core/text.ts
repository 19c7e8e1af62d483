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

/** Every string of a JSON value, object keys included, is storable text. */
export function isStorableJson(value: unknown): boolean {
  if (typeof value === 'string') return isStorableText(value);
  if (Array.isArray(value)) return value.every(isStorableJson);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).every(
      ([key, item]) => isStorableText(key) && isStorableJson(item),
    );
  }
  return true;
}
