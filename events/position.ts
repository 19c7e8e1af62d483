/**
 * The consistency token: an outcome event's position in the log, `p<partition>.o<offset>`,
 * handed to the client with every accepted posting. A read that passes it back is answered only
 * once the projections have applied that position (or told, 425, that they have not yet).
 */
import type { EventPosition } from './publisher';

const TOKEN = /^p(\d{1,5})\.o(\d{1,19})$/;

export function consistencyToken(position: EventPosition): string {
  return `p${position.partition}.o${position.offset}`;
}

/** The position in a token, or null when the string is not one. */
export function parseConsistencyToken(token: string): EventPosition | null {
  const match = TOKEN.exec(token);
  if (match === null) return null;
  const offset = BigInt(match[2]!);
  if (offset > (1n << 63n) - 1n) return null;
  return { partition: Number(match[1]), offset: offset.toString() };
}
