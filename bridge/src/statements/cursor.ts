/**
 * The statement cursor: opaque to clients, base64url of `<tb_timestamp>:<transfer_id>` (both
 * canonical decimals) of the last entry of a page. Decoding checks everything, so a forged or
 * truncated cursor is a typed 400, never a database error.
 */
import { U128_MAX, U64_MAX } from '../../../ledger/port';

export interface StatementKey {
  /** TigerBeetle timestamp (u64 ns), decimal. */
  tbTimestamp: string;
  /** TigerBeetle transfer id (u128), decimal. */
  transferId: string;
}

const KEY = /^(0|[1-9][0-9]{0,19}):(0|[1-9][0-9]{0,38})$/;
const BASE64URL = /^[A-Za-z0-9_-]{1,128}$/;

export function encodeCursor(key: StatementKey): string {
  return Buffer.from(`${key.tbTimestamp}:${key.transferId}`, 'utf8').toString('base64url');
}

/** The key a cursor names, or null when it is not one this API issued. */
export function decodeCursor(cursor: string): StatementKey | null {
  if (!BASE64URL.test(cursor)) return null;
  const match = KEY.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (match === null) return null;
  const [, tbTimestamp, transferId] = match as unknown as [string, string, string];
  if (BigInt(tbTimestamp) > U64_MAX || BigInt(transferId) > U128_MAX) return null;
  // Re-encoding must give the cursor back: no padding or trailing bits smuggled in.
  if (encodeCursor({ tbTimestamp, transferId }) !== cursor) return null;
  return { tbTimestamp, transferId };
}
