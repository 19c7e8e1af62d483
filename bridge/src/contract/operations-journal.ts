/**
 * The contract of the journal rooms: posting journals (one, or a bulk request), the second step
 * of a hold, reading a journal back, and raw TigerBeetle transfers.
 */
import { z } from 'zod';
import { BATCH_EVENTS_MAX } from '../../../ledger/port';
import { JOURNAL_ID_CHARS_MAX } from '../journal/read-routes';
import { BULK_JOURNALS_MAX, JournalBodySchema, JournalLineSchema } from '../journal/schema';
import { transferSchema } from '../transfers/routes';
import {
  CONSISTENT_READ,
  JOURNAL_SHAPE,
  JOURNAL_VERDICTS,
  TENANT,
  UNAVAILABLE,
  WRITE_UNAVAILABLE,
  edge,
  journal,
  other,
} from './errors';
import { EXAMPLE_HOLD, EXAMPLE_JOURNAL, JOURNAL_EXAMPLES } from './examples';
import type { HeaderSpec, Operation, Param } from './operation';
import {
  BalanceToken,
  BulkJournalResults,
  ConsistencyToken,
  JournalReceipt,
  JournalView,
  TransferResults,
} from './schemas';

/** Every posting answers with both tokens (bridge/src/journal/routes.ts sendPosted). */
const POSTED_HEADERS: Record<string, HeaderSpec> = {
  'Consistency-Token': {
    schema: ConsistencyToken,
    description: 'pass to GET /api/journal or the statement to read this posting back',
    required: true,
  },
  'Balance-Token': {
    schema: BalanceToken,
    description: 'pass to GET /api/balance to read a balance that includes this posting',
    required: true,
  },
};

/** A read that may wait for the projections (bridge/src/journal/consistency.ts). */
export const CONSISTENCY_HEADER: Record<string, Param> = {
  'Consistency-Token': {
    schema: ConsistencyToken,
    description: 'wait (bounded) until the projections applied this posting',
  },
};
export const CONSISTENCY_QUERY: Record<string, Param> = {
  consistency: { schema: ConsistencyToken, description: 'as the Consistency-Token header' },
};

const holdPath: Record<string, Param> = {
  journalId: {
    schema: JournalBodySchema.shape.journalId,
    description: 'the hold',
    example: EXAMPLE_HOLD,
  },
};

const HOLD_ERRORS = [
  journal('field_invalid'),
  journal('invalid_body'),
  journal('unknown_field'),
  journal('journal_not_found'),
  journal('journal_not_pending'),
  journal('journal_rejected'),
  journal('journal_conflict'),
  ...TENANT,
  ...WRITE_UNAVAILABLE,
];

const holdPosted = (status: string) => ({
  201: {
    description: `the hold's resolution (status \`${status}\`); the same body on a retry`,
    schema: JournalReceipt,
    headers: POSTED_HEADERS,
  },
});

export const JOURNAL_OPERATIONS: readonly Operation[] = [
  {
    method: 'POST',
    pattern: '/api/journal',
    access: { scope: 'journals:write' },
    id: 'postJournal',
    tag: 'Journals',
    summary: 'Post a journal (or place a hold)',
    description:
      'Validates a double-entry journal and writes its lines to the ledger as one linked chain: ' +
      'all or nothing. Idempotent on `journalId`: a retry answers the same body; the same id ' +
      'with other content is a 409. With `pending`, the lines are held until posted or voided ' +
      '(or until the timeout). Errors name the first offending `field` (a JSON path) and `line`.',
    body: { schema: JournalBodySchema, required: true, examples: JOURNAL_EXAMPLES },
    responses: {
      201: {
        description: 'posted (`posted`) or held (`held`)',
        schema: JournalReceipt,
        headers: POSTED_HEADERS,
      },
    },
    errors: [...JOURNAL_SHAPE, ...JOURNAL_VERDICTS, ...TENANT, ...WRITE_UNAVAILABLE],
  },
  {
    method: 'POST',
    pattern: '/api/journals/batch',
    access: { scope: 'journals:write' },
    id: 'postJournals',
    tag: 'Journals',
    summary: `Post up to ${BULK_JOURNALS_MAX} journals, each on its own`,
    description:
      'Each journal is judged, posted or refused on its own and answered in order; one bad ' +
      'journal never refuses its neighbours. Only the envelope answers with an error status.',
    body: {
      schema: z.strictObject({
        journals: z.array(JournalBodySchema).min(1).max(BULK_JOURNALS_MAX),
      }),
      required: true,
    },
    responses: {
      200: {
        description: 'one result per journal, in order: a receipt (201) or an error',
        schema: BulkJournalResults,
      },
    },
    errors: [
      journal('invalid_body'),
      journal('field_required'),
      journal('field_invalid'),
      journal('unknown_field'),
      journal('too_many_journals'),
      ...TENANT,
      ...WRITE_UNAVAILABLE,
    ],
  },
  {
    method: 'POST',
    pattern: '/api/journal/:journalId/post',
    access: { scope: 'holds:write' },
    id: 'postHold',
    tag: 'Holds',
    summary: 'Post a hold, whole or in part',
    description:
      'No body (or `{}`) posts the whole hold; `{amount}` posts that much, for a hold of a ' +
      'single transfer.',
    params: holdPath,
    body: {
      schema: z.strictObject({ amount: JournalLineSchema.shape.amount.optional() }).nullable(),
      required: false,
    },
    responses: holdPosted('hold_posted'),
    errors: [
      ...HOLD_ERRORS,
      journal('amount_invalid'),
      journal('amount_out_of_range'),
      journal('hold_partial_unsupported'),
      journal('hold_amount_exceeds_pending'),
    ],
  },
  {
    method: 'POST',
    pattern: '/api/journal/:journalId/void',
    access: { scope: 'holds:write' },
    id: 'voidHold',
    tag: 'Holds',
    summary: 'Void a hold',
    params: holdPath,
    body: { schema: z.strictObject({}).nullable(), required: false },
    responses: holdPosted('hold_voided'),
    errors: HOLD_ERRORS,
  },
  {
    method: 'GET',
    pattern: '/api/journal/:journalId',
    access: { scope: 'journals:read' },
    id: 'getJournal',
    tag: 'Journals',
    summary: 'A journal as the projections hold it',
    description:
      'Status, metadata, lines and transfers, read from PostgreSQL. With a consistency token ' +
      'the read first waits (bounded) until the projections applied that posting: 425 if not.',
    params: {
      journalId: {
        schema: z
          .string()
          .min(1)
          .max(JOURNAL_ID_CHARS_MAX)
          .regex(/^[A-Za-z0-9._:-]+$/),
        description: 'the journal',
        example: EXAMPLE_JOURNAL,
      },
    },
    query: CONSISTENCY_QUERY,
    headers: CONSISTENCY_HEADER,
    responses: { 200: { description: 'the journal', schema: JournalView } },
    errors: [
      other('invalid_journal_id'),
      journal('journal_not_found'),
      ...CONSISTENT_READ,
      ...TENANT,
      other('store_unavailable'),
    ],
  },
  {
    method: 'POST',
    pattern: '/api/transfers/batch',
    access: { scope: 'ledger:raw' },
    id: 'postTransfers',
    tag: 'Ledger',
    summary: `Up to ${BATCH_EVENTS_MAX} raw TigerBeetle transfers in one ledger request`,
    description:
      "TigerBeetle's own transfer shape (snake_case; u128/u64 as decimal strings or safe " +
      'integers; omitted optional fields are 0), answered with its status per transfer. For ' +
      'integrators who manage their own ids and chains; no journal metadata is kept.',
    body: {
      schema: z.strictObject({
        transfers: z.array(transferSchema).min(1).max(BATCH_EVENTS_MAX),
      }),
      required: true,
    },
    responses: {
      200: {
        description: 'one result per transfer, in order',
        schema: TransferResults,
        headers: {
          'Balance-Token': {
            schema: BalanceToken,
            description:
              'when any transfer is in the ledger (created or exists): pass to GET /api/balance ' +
              'to read a balance that includes them',
            required: false,
          },
        },
      },
    },
    errors: [
      journal('field_invalid'),
      other('batch_too_large'),
      other('invalid_transfer'),
      edge('payload_too_large'),
      ...TENANT,
      ...UNAVAILABLE,
      // Raw batches queue in the batcher beside journals (bridge/src/transfers/service.ts).
      other('overloaded'),
    ],
  },
];
