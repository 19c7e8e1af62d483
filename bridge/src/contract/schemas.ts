/**
 * What the API answers, as zod schemas for the contract (./openapi.ts turns them into JSON Schema).
 * Each mirrors the handler that writes it (the sendJson calls of the feature rooms) field by
 * field; objects are strict, so a field a handler adds without the contract knowing is a response
 * that breaks the contract (Schemathesis's conformance checks find it).
 */
import { z } from 'zod';
import { CreateTransferStatus } from '../../../ledger/port';

/** u128/u64 travel as decimal strings: they do not fit a JSON number. */
export const U128_TEXT = /^(0|[1-9][0-9]{0,38})$/;
export const U64_TEXT = /^(0|[1-9][0-9]{0,19})$/;

const u128Text = z.string().regex(U128_TEXT).describe('u128 as a decimal string');
const u64Text = z.string().regex(U64_TEXT).describe('u64 as a decimal string');
/** A balance on the normal side: may be negative. */
const signedText = z
  .string()
  .regex(/^-?(0|[1-9][0-9]*)$/)
  .describe('signed integer in minor units, as a decimal string');
const amountText = z
  .string()
  .regex(/^[1-9][0-9]{0,38}$/)
  .describe('minor units as a decimal string, 1..2^128-1');
const instant = z.iso.datetime().describe('ISO 8601 instant, UTC');
const side = z.enum(['DEBIT', 'CREDIT']);
const lineNumber = z.int().min(1).max(10_000);

/** The ledger's per-transfer result names (tigerbeetle-node's CreateTransferStatus). */
const TRANSFER_STATUS_NAMES = Object.keys(CreateTransferStatus).filter((key) =>
  Number.isNaN(Number(key)),
) as [string, ...string[]];

/** `p<partition>.o<offset>`: a posting's place in the outcome log (events/position.ts). */
export const ConsistencyToken = z
  .string()
  .regex(/^p[0-9]{1,5}\.o[0-9]{1,19}$/)
  .describe('the outcome event of a posting, p<partition>.o<offset>');
/** The largest ledger timestamp (ns) of a posting (bridge/src/balances/token.ts). */
export const BalanceToken = u64Text.describe('the ledger timestamp (ns) of a posting');

const LineStatus = z.strictObject({
  transfer: z.int().min(0),
  debitLine: lineNumber.nullable(),
  creditLine: lineNumber.nullable(),
  status: z.string(),
});

/**
 * Fields named `status` are spread in from these: an object literal with both `code` and `status`
 * reads as an error answer to the README's code scanner (test/support/docs/error-codes.ts).
 */
const LEDGER_STATUS = {
  status: z.string().optional().describe("TigerBeetle's status name"),
};
const TRANSFER_STEP_STATUS = { status: z.enum(['created', 'exists']) };

/**
 * The one error shape (bridge/src/http/api-error.ts). The facts beside code and message depend
 * on the code; the ones with a fixed meaning are typed, others (an unbalanced journal's asset and
 * totals, a key's id) are listed per code in the operation's description.
 */
export const ErrorBody = z.strictObject({
  error: z.looseObject({
    code: z.string().describe('stable; the README lists every code'),
    message: z.string(),
    field: z.string().optional().describe('where: a JSON path, header, path or query parameter'),
    line: lineNumber.optional().describe("the journal line's lineNumber"),
    ...LEDGER_STATUS,
    lines: z.array(LineStatus).optional().describe('journal_rejected: the status per transfer'),
    index: z.int().min(0).optional().describe('the refused event of a raw batch'),
    allow: z
      .array(z.string())
      .optional()
      .describe('method_not_allowed: the methods the path takes'),
    position: z.int().min(0).optional().describe('invalid_json: where the JSON breaks'),
    current: ConsistencyToken.nullable()
      .optional()
      .describe('projection_behind: the last position applied'),
    scope: z.string().optional().describe('scope_missing: the scope the route needs'),
  }),
});

const ReceiptTransfer = z.strictObject({
  id: u128Text,
  debitLine: lineNumber.nullable(),
  creditLine: lineNumber.nullable(),
  amount: amountText,
  ledger: z.int().min(1).max(0xffff_ffff),
  timestamp: u64Text.describe('TigerBeetle timestamp (ns)'),
});

/** The 201 of a posting: the same bytes on every retry (bridge/src/journal/service.ts). */
export const JournalReceipt = z.strictObject({
  journalId: z.string(),
  status: z.enum(['posted', 'held', 'hold_posted', 'hold_voided']),
  transfers: z.array(ReceiptTransfer),
});

export const BulkJournalResults = z.strictObject({
  results: z.array(
    z.union([
      z.strictObject({
        status: z.literal(201),
        journal: JournalReceipt,
        consistencyToken: ConsistencyToken,
        balanceToken: BalanceToken,
      }),
      z.strictObject({ status: z.int().min(400).max(599), error: ErrorBody.shape.error }),
    ]),
  ),
});

export const TransferResults = z.strictObject({
  results: z.array(
    z.strictObject({
      index: z.int().min(0),
      id: u128Text,
      status: z.enum(TRANSFER_STATUS_NAMES),
      timestamp: u64Text.describe('TigerBeetle timestamp (ns); 0 when not created'),
    }),
  ),
});

const JournalLineView = z.strictObject({
  lineNumber,
  accountId: z.string(),
  lineType: side,
  amount: amountText,
});

const JournalTransferView = z.strictObject({
  transferId: u128Text,
  step: z.enum(['create', 'post', 'void']),
  chainIndex: z.int().min(0),
  debitLine: lineNumber.nullable(),
  creditLine: lineNumber.nullable(),
  debitAccountId: z.string().nullable(),
  creditAccountId: z.string().nullable(),
  debitAccountLedgerId: u128Text,
  creditAccountLedgerId: u128Text,
  amount: u128Text,
  pendingId: u128Text,
  ledger: z.int().min(0),
  code: z.int().min(0),
  flags: z.int().min(0),
  timeout: z.int().min(0),
  tbTimestamp: u64Text,
  ...TRANSFER_STEP_STATUS,
});

/** GET /api/journal/:journalId (bridge/src/journal/reads.ts). */
export const JournalView = z.strictObject({
  journalId: z.string(),
  status: z.enum(['posted', 'held', 'hold_posted', 'hold_voided', 'rejected', 'expired']),
  date: z.string().nullable(),
  description: z.string().nullable(),
  source: z.string().nullable(),
  pending: z.strictObject({ timeoutSeconds: z.int().min(1) }).nullable(),
  rejection: z
    .strictObject({ step: z.enum(['create', 'post', 'void']), statuses: z.array(z.string()) })
    .nullable(),
  tbTimestamp: u64Text,
  updatedTbTimestamp: u64Text,
  createdAt: instant,
  updatedAt: instant,
  firstEventId: z.string(),
  lastEventId: z.string(),
  lines: z.array(JournalLineView),
  transfers: z.array(JournalTransferView),
});

/** GET /api/accounts/:accountId/entries (bridge/src/statements/routes.ts). */
export const StatementPage = z.strictObject({
  accountId: z.string(),
  asset: z.string(),
  normalSide: side,
  entries: z.array(
    z.strictObject({
      timestamp: u64Text,
      transferId: u128Text,
      journalId: z.string().nullable(),
      lineNumber: lineNumber.nullable(),
      side,
      amount: amountText,
      kind: z.enum(['posted', 'hold_posted', 'raw']),
      description: z.string().nullable(),
      balance: signedText,
    }),
  ),
  nextCursor: z.string().nullable().describe('pass as ?cursor= for the next page; null: last'),
});

const debitsCredits = z.strictObject({ debits: u128Text, credits: u128Text });

/** bridge/src/balances/view.ts */
export const BalanceViewSchema = z.strictObject({
  accountId: z.string(),
  asset: z.strictObject({ code: z.string(), scale: z.int().min(0).max(18) }),
  normalSide: side,
  posted: debitsCredits,
  pending: debitsCredits,
  balance: signedText,
  available: signedText,
  ledgerTimestamp: u64Text,
});

export const CacheLevel = z.enum(['l1', 'l2', 'ledger']);

export const CachedBalance = BalanceViewSchema.extend({
  cache: z.strictObject({ level: CacheLevel, ageMs: z.number().min(0) }),
});

/** bridge/src/accounts/routes.ts accountJson */
export const AccountSchema = z.strictObject({
  accountId: z.string(),
  ledgerId: u128Text,
  name: z.string(),
  holderId: z.string(),
  accountType: z.string(),
  normalSide: side,
  asset: z.string(),
  ledger: z.int().min(1).max(0xffff_ffff),
  scale: z.int().min(0).max(18),
  flags: z.strictObject({
    mustNotGoNegative: z.boolean(),
    history: z.boolean(),
    closed: z.boolean().describe("a closing transfer closed it (the change feed's latest word)"),
  }),
  createdAt: instant,
  metadata: z.record(z.string(), z.json()),
});

export const AccountWithBalance = AccountSchema.extend({ balance: BalanceViewSchema });

export const Health = z.strictObject({
  status: z.literal('ok'),
  ledger: z.strictObject({
    kind: z.enum(['tigerbeetle', 'embedded', 'engine-server']),
    at: z.string(),
  }),
});

export const Ready = z.union([
  z.strictObject({ status: z.literal('ready') }),
  z.strictObject({ status: z.literal('degraded'), degraded: z.array(z.string()).min(1) }),
]);

const nullableNumber = z.number().nullable();

const SloReport = z.strictObject({
  at: instant,
  windowMs: z.strictObject({ short: z.number(), long: z.number(), peak: z.number() }),
  slos: z.array(
    z.strictObject({
      name: z.string(),
      description: z.string(),
      objective: z.enum(['<=', '>=']),
      target: z.number(),
      unit: z.string(),
      current: nullableNumber,
      state: z.enum(['ok', 'at_risk', 'breached', 'no_data']),
      burnRate: nullableNumber,
      burnRateLong: nullableNumber,
      samples: z.number().min(0),
    }),
  ),
});

/** GET /slo: the report and the names of the SLOs whose alert is firing. */
export const SloAnswer = SloReport.extend({ alerts: z.array(z.string()) });

export const DashboardData = z.strictObject({
  now: z.number(),
  intervalMs: z.number(),
  points: z.array(
    z.strictObject({
      t: z.number(),
      offeredPerSec: z.number(),
      journalsPerSec: z.number(),
      requestsPerSec: z.number(),
      p50Ms: nullableNumber,
      p95Ms: nullableNumber,
      p99Ms: nullableNumber,
      balanceP95Ms: nullableNumber,
      errorRatio: nullableNumber,
      lagMs: nullableNumber,
      cacheHitRatio: nullableNumber,
    }),
  ),
  slo: SloReport,
  alerts: z.array(z.string()),
});
