/**
 * POST /api/transfers/batch: up to 8189 transfers in TigerBeetle's own shape (snake_case fields;
 * u128/u64 as decimal strings or safe-integer numbers; omitted optional fields are 0), kept
 * together in one ledger request (through the batcher, beside journals: ./service.ts), answered
 * with TigerBeetle's per-event results. For integrators who manage their own ids and chains;
 * journals with metadata go through /api/journal.
 */
import { z } from 'zod';
import {
  BATCH_EVENTS_MAX,
  CreateTransferStatus,
  type Transfer,
  U128_MAX,
  U64_MAX,
} from '../../../ledger/port';
import { BALANCE_TOKEN_HEADER } from '../balances/token';
import type { RawTransferService } from './service';
import { ApiError } from '../http/api-error';
import { readJsonBody } from '../http/body';
import { sendJson } from '../http/respond';
import type { Router } from '../http/router';
import { requireTouchLedgerAccounts, type TenantDirectory, type Touch } from '../access/tenant';

/** 8189 transfers of a few hundred bytes of JSON each. */
export const TRANSFERS_BODY_BYTES_MAX = 8 * 1024 * 1024;

const unsigned = (max: bigint) =>
  z
    .union([
      z.string().regex(/^(0|[1-9][0-9]*)$/),
      z
        .number()
        .int()
        .nonnegative()
        .max(2 ** 53 - 1),
    ])
    .transform((value) => BigInt(value))
    .refine((value) => value <= max, `must be at most ${max}`);

const u128 = unsigned(U128_MAX);
const u64 = unsigned(U64_MAX);
const u32 = z.number().int().min(0).max(0xffff_ffff);
const u16 = z.number().int().min(0).max(0xffff);

/** One transfer in TigerBeetle's shape; exported for the API contract (../contract). */
export const transferSchema = z.strictObject({
  id: u128,
  debit_account_id: u128,
  credit_account_id: u128,
  amount: u128,
  pending_id: u128.default(0n),
  user_data_128: u128.default(0n),
  user_data_64: u64.default(0n),
  user_data_32: u32.default(0),
  timeout: u32.default(0),
  ledger: u32,
  code: u16,
  flags: u16.default(0),
  timestamp: u64.default(0n),
});

const bodySchema = z.strictObject({
  transfers: z.array(z.unknown()).min(1).max(BATCH_EVENTS_MAX),
});

export function parseTransfersBatch(body: unknown): Transfer[] {
  const envelope = bodySchema.safeParse(body);
  if (!envelope.success) {
    const issue = envelope.error.issues[0]!;
    const field = issue.path.length > 0 ? issue.path.join('.') : 'transfers';
    const code = issue.code === 'too_big' ? 'batch_too_large' : 'field_invalid';
    throw new ApiError(code === 'batch_too_large' ? 413 : 400, code, issue.message, { field });
  }
  return envelope.data.transfers.map((item, index) => {
    const parsed = transferSchema.safeParse(item);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0]!;
    const field = `transfers[${index}]${issue.path.map((p) => `.${String(p)}`).join('')}`;
    throw new ApiError(400, 'field_invalid', `${field}: ${issue.message}`, { field });
  });
}

/**
 * Both accounts of every transfer, for a restricted key's tenant check. A post or void that names
 * no accounts (0: TigerBeetle takes the pending transfer's) cannot be checked before it runs, so
 * a restricted key is refused it: 0 is no account of any tenant.
 */
function accountTouches(events: readonly Transfer[]): Array<Touch<bigint>> {
  return events.flatMap((event, i) => [
    { id: event.debit_account_id, field: `transfers[${i}].debit_account_id` },
    { id: event.credit_account_id, field: `transfers[${i}].credit_account_id` },
  ]);
}

export function transferRoutes(
  router: Router,
  transfers: RawTransferService,
  accounts: TenantDirectory,
): void {
  router.on('POST', '/api/transfers/batch', { scope: 'ledger:raw' }, async ({ req, res }) => {
    const events = parseTransfersBatch(await readJsonBody(req, TRANSFERS_BODY_BYTES_MAX));
    await requireTouchLedgerAccounts(req, accounts, accountTouches(events));
    const { results, balanceToken } = await transfers.post(events);
    const body = {
      results: results.map((result, index) => ({
        index,
        id: events[index]!.id.toString(),
        status: CreateTransferStatus[result.status],
        timestamp: result.timestamp.toString(),
      })),
    };
    // The same read-your-writes token a journal answers with, once anything is in the ledger.
    const headers: Record<string, string> =
      balanceToken === null ? {} : { [BALANCE_TOKEN_HEADER]: balanceToken };
    sendJson(res, 200, body, headers);
  });
}
