/**
 * Where a JSON text stops being JSON (RFC 8259), for the `position` of a 400 `invalid_json`.
 * V8's JSON.parse names a position for some errors only ("Unexpected token '}', ... is not valid
 * JSON" has none) and echoes the input in its message, so the API answers with this instead. It
 * runs only after JSON.parse failed, and keeps its own stack: no input can overflow it.
 */

/** The offset (UTF-16 code units) of the first character that breaks the grammar, or null. */
export function jsonErrorOffset(text: string): number | null {
  const open: string[] = []; // the closing bracket each open container waits for
  let i = skipSpace(text, 0);
  let expectKey = false; // just after `{` or an object's `,`
  let canClose = false; // just after `{` or `[`: the container may close empty
  for (;;) {
    if (i >= text.length) return i;
    const c = text[i]!;
    if (canClose && c === open[open.length - 1]) {
      open.pop();
      i++;
    } else if (expectKey) {
      if (c !== '"') return i;
      i = skipSpace(text, stringEnd(text, i));
      if (i < 0) return ~i;
      if (text[i] !== ':') return i;
      i = skipSpace(text, i + 1);
      expectKey = false;
      canClose = false;
      continue;
    } else if (c === '{' || c === '[') {
      open.push(c === '{' ? '}' : ']');
      i = skipSpace(text, i + 1);
      expectKey = c === '{';
      canClose = true;
      continue;
    } else {
      i = scalarEnd(text, i);
      if (i < 0) return ~i;
    }
    // After a value: the end, a comma, or the close of the container.
    canClose = false;
    i = skipSpace(text, i);
    if (open.length === 0) return i === text.length ? null : i;
    if (text[i] === ',') {
      i = skipSpace(text, i + 1);
      expectKey = open[open.length - 1] === '}';
    } else if (text[i] !== open[open.length - 1]) {
      return i;
    } else {
      canClose = true; // the close itself is taken at the top of the loop
    }
  }
}

function skipSpace(text: string, from: number): number {
  if (from < 0) return from;
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    i++;
  }
  return i;
}

/** The end of the scalar at `from`, or ~offset of its first bad character. */
function scalarEnd(text: string, from: number): number {
  const c = text[from]!;
  if (c === '"') return stringEnd(text, from);
  if (c === '-' || (c >= '0' && c <= '9')) return numberEnd(text, from);
  for (const literal of ['true', 'false', 'null']) {
    if (c !== literal[0]) continue;
    for (let k = 1; k < literal.length; k++) {
      if (text[from + k] !== literal[k]) return ~(from + k);
    }
    return from + literal.length;
  }
  return ~from;
}

const HEX = /^[0-9a-fA-F]{4}$/;
const ESCAPES = '"\\/bfnrt';

function stringEnd(text: string, from: number): number {
  let i = from + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c < 0x20) return ~i;
    if (c === 0x5c) {
      const escape = text[i + 1];
      if (escape === 'u') {
        if (!HEX.test(text.slice(i + 2, i + 6))) return ~(i + 1);
        i += 6;
        continue;
      }
      if (escape === undefined || !ESCAPES.includes(escape)) return ~(i + 1);
      i += 2;
      continue;
    }
    i++;
  }
  return ~i;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

function numberEnd(text: string, from: number): number {
  NUMBER.lastIndex = from;
  if (!NUMBER.test(text)) return ~(text[from] === '-' ? from + 1 : from);
  const end = NUMBER.lastIndex;
  // A fraction or exponent that the pattern could not complete ("1.", "1e+") breaks right there.
  const next = text[end];
  if (next === '.' || next === 'e' || next === 'E') return ~(end + 1);
  return end;
}
