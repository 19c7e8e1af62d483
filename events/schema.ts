/**
 * The journal outcome event, version 1: what the bridge publishes to Kafka once the ledger has
 * answered, and what the projections read back. README.md beside this file is the reference.
 *
 * The value is UTF-8 JSON with a fixed key order. u128 and u64 values travel as canonical decimal
 * strings (no sign, no leading zeros), never as JSON numbers, so no consumer can round money
 * through a float. The encoder asserts its invariants (a broken outcome is a bug, not an event);
 * the decoder trusts nothing and answers every unreadable message with a typed `EventDecodeError`
 * the consumer can dead-letter.
 */
import { assert, InvariantError } from '../core/assert';
import { z } from 'zod';
import type { Journal, JournalOutcome, OutcomeKind, TransferOutcome } from './journal-model';
import {
  CreateTransferStatus,
  TransferFlags,
  U128_MAX,
  U16_MAX,
  U32_MAX,
  U64_MAX,
} from '../ledger/port';
import { EventDecodeError } from './errors';

export const OUTCOME_SCHEMA = 'ledger-bridge.journal-outcome';
export const OUTCOME_SCHEMA_VERSION = 1;
export const OUTCOME_CONTENT_TYPE = 'application/json';

/**
 * Kafka header names. Consumers may route or dead-letter on these without parsing the value.
 * Deliberately only three: kafkajs encodes each header of each record through its own freshly
 * allocated buffer, about 1.8 µs of CPU apiece (measured); the event id and kind are in the value.
 */
export const OUTCOME_HEADERS = {
  schema: 'schema',
  version: 'schema-version',
  contentType: 'content-type',
} as const;

/** Every outcome kind, from an exhaustive record: a new kind breaks the build until listed. */
const KINDS: Record<OutcomeKind, true> = {
  posted: true,
  held: true,
  hold_posted: true,
  hold_voided: true,
  rejected: true,
};
export const OUTCOME_KINDS = Object.keys(KINDS) as [OutcomeKind, ...OutcomeKind[]];

export type TransferStatusName = keyof typeof CreateTransferStatus;
/** The names of tigerbeetle-node's CreateTransferStatus, read from the enum at runtime. */
export const TRANSFER_STATUS_NAMES = Object.keys(CreateTransferStatus).filter((key) =>
  Number.isNaN(Number(key)),
) as [TransferStatusName, ...TransferStatusName[]];

/**
 * Which step of a journal's life a chain of transfers is: creating the journal (posted or held),
 * or posting or voiding its hold. Read from the first transfer's flags.
 */
export type OutcomeStep = 'create' | 'post' | 'void';

export function stepOfFlags(flags: number): OutcomeStep {
  if ((flags & TransferFlags.post_pending_transfer) !== 0) return 'post';
  if ((flags & TransferFlags.void_pending_transfer) !== 0) return 'void';
  return 'create';
}

const STEP_OF_KIND: Record<Exclude<OutcomeKind, 'rejected'>, OutcomeStep> = {
  posted: 'create',
  held: 'create',
  hold_posted: 'post',
  hold_voided: 'void',
};

/**
 * The event id: one per (journal, step, result), so the same outcome published twice (a retry
 * after a crash before the HTTP answer) carries the same id and consumers keep the first.
 *
 * - successes: `${journalId}:${kind}` (`posted`, `held`, `hold_posted`, `hold_voided`); each
 *   happens at most once per journal, and a retry only turns `created` into `exists`;
 * - rejections: `${journalId}:rejected:${step}`. The step is part of the id so a rejected post of
 *   a hold is not swallowed by an earlier rejection of the hold itself. The statuses are not part
 *   of the id on purpose: TigerBeetle remembers a transfer id that failed with a transient error,
 *   so a retry of a rejected journal answers `id_already_failed` where the first attempt said, for
 *   example, `exceeds_credits`. Both are one rejection; consumers keep the first, truer reason.
 *
 * The suffixes are fixed and none ends another, so the id is unambiguous for any journal id,
 * colons included.
 */
export function outcomeEventId(journalId: string, kind: OutcomeKind, step: OutcomeStep): string {
  return kind === 'rejected' ? `${journalId}:rejected:${step}` : `${journalId}:${kind}`;
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;

function decimalString(width: 'u128' | 'u64', max: bigint) {
  const digitsMax = max.toString().length;
  return (
    z
      .string()
      .regex(DECIMAL, `must be a ${width} as a decimal string without sign or leading zeros`)
      // zod runs every check even after the regex failed: BigInt() must only see digits.
      .refine(
        (value) => !DECIMAL.test(value) || (value.length <= digitsMax && BigInt(value) <= max),
        `exceeds ${width}`,
      )
  );
}

const u128 = decimalString('u128', U128_MAX);
const u64 = decimalString('u64', U64_MAX);
const u32 = z.number().int().min(0).max(U32_MAX);
const u16 = z.number().int().min(0).max(U16_MAX);
const lineNumber = z.number().int().min(0);

const lineV1 = z.strictObject({
  lineNumber,
  accountId: z.string().min(1),
  lineType: z.enum(['DEBIT', 'CREDIT']),
  amount: u128,
});

const journalV1 = z.strictObject({
  journalId: z.string().min(1),
  date: z.string(),
  description: z.string(),
  source: z.string(),
  pending: z.strictObject({ timeoutSeconds: u32 }).nullable(),
  lines: z.array(lineV1).min(1),
});

const transferV1 = z.strictObject({
  id: u128,
  debitAccountId: u128,
  creditAccountId: u128,
  amount: u128,
  pendingId: u128,
  ledger: u32,
  code: u16,
  flags: u16,
  timeout: u32,
  userData128: u128,
  userData64: u64,
  userData32: u32,
  timestamp: u64,
  status: z.enum(TRANSFER_STATUS_NAMES),
  debitLine: lineNumber.nullable(),
  creditLine: lineNumber.nullable(),
});

const eventV1 = z
  .strictObject({
    schema: z.literal(OUTCOME_SCHEMA),
    version: z.literal(OUTCOME_SCHEMA_VERSION),
    eventId: z.string(),
    kind: z.enum(OUTCOME_KINDS),
    journalId: z.string().min(1),
    occurredAt: u64,
    journal: journalV1.nullable(),
    transfers: z.array(transferV1).min(1),
  })
  .superRefine((event, ctx) => {
    for (const problem of consistencyProblems(event)) {
      ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
    }
  });

export type JournalOutcomeEventV1 = z.output<typeof eventV1>;
export type JournalEventV1 = NonNullable<JournalOutcomeEventV1['journal']>;
export type JournalLineEventV1 = JournalEventV1['lines'][number];
export type TransferEventV1 = JournalOutcomeEventV1['transfers'][number];

interface Problem {
  path: (string | number)[];
  message: string;
}

/** Cross-field rules the shapes alone cannot say; the encoder guarantees them, the decoder checks. */
function consistencyProblems(event: Omit<JournalOutcomeEventV1, 'schema' | 'version'>): Problem[] {
  const problems: Problem[] = [];
  const { journal, journalId } = event;
  const first = event.transfers[0];
  if (first === undefined) return problems;
  const step = stepOfFlags(first.flags);
  if (event.kind !== 'rejected' && STEP_OF_KIND[event.kind] !== step) {
    problems.push({ path: ['kind'], message: `a ${step} step cannot be '${event.kind}'` });
  }
  const id = outcomeEventId(journalId, event.kind, step);
  if (event.eventId !== id) problems.push({ path: ['eventId'], message: `must be '${id}'` });
  if (journal === null && step === 'create') {
    problems.push({ path: ['journal'], message: "a journal's creation carries the journal" });
  }
  if (journal !== null && journal.journalId !== journalId) {
    problems.push({ path: ['journal', 'journalId'], message: `must be '${journalId}'` });
  }
  let latest = 0n;
  for (const transfer of event.transfers) {
    const timestamp = BigInt(transfer.timestamp);
    if (timestamp > latest) latest = timestamp;
  }
  if (event.occurredAt !== latest.toString()) {
    problems.push({ path: ['occurredAt'], message: `must be the latest timestamp, ${latest}` });
  }
  const lines = new Set(journal?.lines.map((line) => line.lineNumber));
  event.transfers.forEach((transfer, index) => {
    for (const field of ['debitLine', 'creditLine'] as const) {
      const line = transfer[field];
      if (line !== null && !lines.has(line)) {
        problems.push({ path: ['transfers', index, field], message: 'names no journal line' });
      }
    }
  });
  return problems;
}

/**
 * The decimal text of a u64/u128 field, asserted in range. A transfer's field is named by its
 * index, joined into text only on failure: this runs for eight fields of every transfer on the
 * bulk path.
 */
function assertRange(value: bigint, max: bigint, field: string, transferIndex = -1): string {
  if (value < 0n || value > max) {
    const where = transferIndex < 0 ? field : `transfers[${transferIndex}].${field}`;
    assert(false, `${where} out of range: ${value}`);
  }
  return value.toString();
}

function transferEvent(outcome: TransferOutcome, index: number) {
  const t = outcome.transfer;
  const status = CreateTransferStatus[outcome.status] as TransferStatusName | undefined;
  if (status === undefined) assert(false, `transfers[${index}].status ${outcome.status} unknown`);
  const event: TransferEventV1 = {
    id: assertRange(t.id, U128_MAX, 'id', index),
    debitAccountId: assertRange(t.debit_account_id, U128_MAX, 'debit_account_id', index),
    creditAccountId: assertRange(t.credit_account_id, U128_MAX, 'credit_account_id', index),
    amount: assertRange(t.amount, U128_MAX, 'amount', index),
    pendingId: assertRange(t.pending_id, U128_MAX, 'pending_id', index),
    ledger: t.ledger,
    code: t.code,
    flags: t.flags,
    timeout: t.timeout,
    userData128: assertRange(t.user_data_128, U128_MAX, 'user_data_128', index),
    userData64: assertRange(t.user_data_64, U64_MAX, 'user_data_64', index),
    userData32: t.user_data_32,
    timestamp: assertRange(outcome.timestamp, U64_MAX, 'timestamp', index),
    status,
    debitLine: outcome.debitLine,
    creditLine: outcome.creditLine,
  };
  return event;
}

function journalEvent(journal: Journal): JournalEventV1 {
  return {
    journalId: journal.journalId,
    date: journal.date,
    description: journal.description,
    source: journal.source,
    pending: journal.pending === null ? null : { timeoutSeconds: journal.pending.timeoutSeconds },
    lines: journal.lines.map((line) => ({
      lineNumber: line.lineNumber,
      accountId: line.accountId,
      lineType: line.lineType,
      amount: assertRange(line.amount, U128_MAX, `line ${line.lineNumber} amount`),
    })),
  };
}

/**
 * The event for an outcome, keys in wire order. Throws (a bug, not a value) when the outcome
 * breaks a rule of the schema: no transfers, a status tigerbeetle-node does not name, an integer
 * outside its width, a kind that is not the transfers' step, a creation without its journal, or
 * any rule `decodeOutcome` checks.
 */
export function toOutcomeEvent(outcome: JournalOutcome): JournalOutcomeEventV1 {
  const { journal, kind } = outcome;
  const { journalId } = outcome;
  if (journal !== null && journal.journalId !== journalId) {
    throw new InvariantError(
      `journalId ${journalId} differs from journal.journalId ${journal.journalId}`,
    );
  }
  const first = outcome.transfers[0];
  assert(!(first === undefined), `outcome of ${journalId} is empty`);
  const step = stepOfFlags(first.transfer.flags);
  let latest = 0n;
  for (const transfer of outcome.transfers) {
    if (transfer.timestamp > latest) latest = transfer.timestamp;
  }
  const event: JournalOutcomeEventV1 = {
    schema: OUTCOME_SCHEMA,
    version: OUTCOME_SCHEMA_VERSION,
    eventId: outcomeEventId(journalId, kind, step),
    kind,
    journalId,
    occurredAt: assertRange(latest, U64_MAX, 'occurredAt'),
    journal: journal === null ? null : journalEvent(journal),
    transfers: outcome.transfers.map(transferEvent),
  };
  const problems = consistencyProblems(event);
  if (problems.length > 0) {
    const list = problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ');
    throw new InvariantError(`outcome of ${journalId}: ${list}`);
  }
  return event;
}

/** The bytes of an event: the same event always gives the same bytes (keys in wire order). */
export function serializeOutcomeEvent(event: JournalOutcomeEventV1): Buffer {
  const { journal } = event;
  const canonical: JournalOutcomeEventV1 = {
    schema: event.schema,
    version: event.version,
    eventId: event.eventId,
    kind: event.kind,
    journalId: event.journalId,
    occurredAt: event.occurredAt,
    journal:
      journal === null
        ? null
        : {
            journalId: journal.journalId,
            date: journal.date,
            description: journal.description,
            source: journal.source,
            pending:
              journal.pending === null ? null : { timeoutSeconds: journal.pending.timeoutSeconds },
            lines: journal.lines.map((l) => ({
              lineNumber: l.lineNumber,
              accountId: l.accountId,
              lineType: l.lineType,
              amount: l.amount,
            })),
          },
    transfers: event.transfers.map((t) => ({
      id: t.id,
      debitAccountId: t.debitAccountId,
      creditAccountId: t.creditAccountId,
      amount: t.amount,
      pendingId: t.pendingId,
      ledger: t.ledger,
      code: t.code,
      flags: t.flags,
      timeout: t.timeout,
      userData128: t.userData128,
      userData64: t.userData64,
      userData32: t.userData32,
      timestamp: t.timestamp,
      status: t.status,
      debitLine: t.debitLine,
      creditLine: t.creditLine,
    })),
  };
  return Buffer.from(JSON.stringify(canonical), 'utf8');
}

export interface OutcomeMessage {
  /** The journal id: all of one journal's events land on one partition, in publish order. */
  key: string;
  value: Buffer;
  headers: Readonly<Record<string, string>>;
}

/** The same for every v1 event; one frozen object shared by all messages. */
export const OUTCOME_HEADERS_V1: Readonly<Record<string, string>> = Object.freeze({
  [OUTCOME_HEADERS.schema]: OUTCOME_SCHEMA,
  [OUTCOME_HEADERS.version]: String(OUTCOME_SCHEMA_VERSION),
  [OUTCOME_HEADERS.contentType]: OUTCOME_CONTENT_TYPE,
});

export function encodeOutcome(outcome: JournalOutcome): OutcomeMessage {
  const event = toOutcomeEvent(outcome);
  return {
    key: event.journalId,
    // toOutcomeEvent already builds the keys in wire order: no second copy on the hot path.
    value: Buffer.from(JSON.stringify(event), 'utf8'),
    headers: OUTCOME_HEADERS_V1,
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A record value as JSON. Throws `EventDecodeError('malformed')` for anything else. */
export function parseOutcomeJson(value: Buffer | Uint8Array | string | null): object {
  if (value === null) throw new EventDecodeError('malformed', 'the message has no value');
  let json: unknown;
  try {
    json = JSON.parse(typeof value === 'string' ? value : utf8.decode(value));
  } catch (error) {
    throw new EventDecodeError('malformed', `not UTF-8 JSON: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new EventDecodeError('malformed', 'not a JSON object');
  }
  return json;
}

/** Throws `unknown_schema` unless the object names our schema; returns its `version`. */
export function outcomeVersionOf(json: object): unknown {
  const envelope = json as { schema?: unknown; version?: unknown };
  if (envelope.schema !== OUTCOME_SCHEMA) {
    throw new EventDecodeError(
      'unknown_schema',
      `schema ${JSON.stringify(envelope.schema)} is not '${OUTCOME_SCHEMA}'`,
    );
  }
  return envelope.version;
}

export function unsupportedVersion(version: unknown): EventDecodeError {
  return new EventDecodeError(
    'unsupported_version',
    `version ${JSON.stringify(version)} of '${OUTCOME_SCHEMA}' is not supported`,
    { version },
  );
}

/**
 * Checks a parsed object against every v1 rule. `at` prefixes the issues' paths (an event inside
 * a batch envelope is `events.3`). Throws `EventDecodeError('invalid_event')`.
 */
export function validateOutcomeV1(json: unknown, at = ''): JournalOutcomeEventV1 {
  let parsed: ReturnType<typeof eventV1.safeParse>;
  try {
    parsed = eventV1.safeParse(json);
  } catch (error) {
    // A check that throws is our bug, but the consumer still needs a code to dead-letter on.
    throw new EventDecodeError('invalid_event', `invalid event: ${(error as Error).message}`);
  }
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => {
      const path = [...(at === '' ? [] : [at]), ...i.path].join('.');
      return `${path || '.'}: ${i.message}`;
    });
    throw new EventDecodeError('invalid_event', `invalid event: ${issues.join('; ')}`, { issues });
  }
  return parsed.data;
}

/**
 * Reads a version-1 message value (one event). Throws `EventDecodeError` (never anything else)
 * when it is not one: `malformed`, `unknown_schema`, `unsupported_version` or `invalid_event`.
 * A record of the outcome topic may also be a version-2 batch envelope: read records with
 * `decodeOutcomeRecord` (./envelope.ts), which takes both.
 */
export function decodeOutcome(value: Buffer | Uint8Array | string | null): JournalOutcomeEventV1 {
  const json = parseOutcomeJson(value);
  const version = outcomeVersionOf(json);
  if (version !== OUTCOME_SCHEMA_VERSION) throw unsupportedVersion(version);
  return validateOutcomeV1(json);
}
