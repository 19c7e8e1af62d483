/**
 * Hostile hold resolutions: amounts a parser might accept, bodies a void must not take, and
 * transitions the ledger refuses (more than held, part of a multi-transfer hold, a second
 * resolution, a journal that never was a hold). Each hold is made by the case's own set-up.
 */
import type { RawRequest } from '../raw-client';
import { type HostileCase, json, journalBody, postJournal, type World } from './world';

const POST = 'POST /api/journal/:journalId/post';
const VOID = 'POST /api/journal/:journalId/void';

/** Holds `amount` from cash to rent under `w.id(name)`; three lines when `split`. */
function hold(name: string, amount = 100, split = false): (w: World) => Promise<void> {
  return async (w) => {
    const lines = split
      ? ([
          [w.id('cash'), 'DEBIT', amount * 2],
          [w.id('rent'), 'CREDIT', amount],
          [w.id('fees'), 'CREDIT', amount],
        ] as const)
      : ([
          [w.id('cash'), 'DEBIT', amount],
          [w.id('rent'), 'CREDIT', amount],
        ] as const);
    await postJournal(w, journalBody(w.id(name), lines, { pending: { timeoutSeconds: 3600 } }));
  };
}

function resolve(action: 'post' | 'void', name: string, body?: unknown): (w: World) => RawRequest {
  return (w) => json('POST', `/api/journal/${w.id(name)}/${action}`, body);
}

function rawBody(action: 'post' | 'void', name: string, text: string): (w: World) => RawRequest {
  return (w) => ({ ...resolve(action, name, {})(w), body: text });
}

export const HOLD_CASES: HostileCase[] = [
  {
    name: `${POST}: the whole hold`,
    route: POST,
    setup: hold('h-all'),
    request: resolve('post', 'h-all'),
    status: 201,
    code: null,
    check: (a) => expect(a.json.status).toBe('hold_posted'),
  },
  {
    name: `${POST}: part of the hold`,
    route: POST,
    setup: hold('h-part'),
    request: resolve('post', 'h-part', { amount: '40' }),
    status: 201,
    code: null,
    check: (a) => expect(a.json.transfers[0].amount).toBe('40'),
  },
  {
    name: `${VOID}: the hold`,
    route: VOID,
    setup: hold('h-void'),
    request: resolve('void', 'h-void'),
    status: 201,
    code: null,
    check: (a) => expect(a.json.status).toBe('hold_voided'),
  },
  {
    name: `${POST}: more than held`,
    route: POST,
    setup: hold('h-more'),
    request: resolve('post', 'h-more', { amount: 101 }),
    status: 422,
    code: 'hold_amount_exceeds_pending',
    field: 'amount',
  },
  {
    name: `${POST}: part of a three-line hold`,
    route: POST,
    setup: hold('h-split', 10, true),
    request: resolve('post', 'h-split', { amount: 5 }),
    status: 422,
    code: 'hold_partial_unsupported',
    field: 'amount',
  },
  {
    name: `${VOID}: a hold already posted`,
    route: VOID,
    setup: async (w) => {
      await hold('h-twice')(w);
      await w.send(resolve('post', 'h-twice')(w));
    },
    request: resolve('void', 'h-twice'),
    status: 409,
    code: 'journal_not_pending',
  },
  {
    name: `${POST}: a journal that never was a hold`,
    route: POST,
    request: (w) => json('POST', `/api/journal/${w.posted.journalId}/post`),
    status: 409,
    code: 'journal_not_pending',
  },
  {
    name: `${POST}: amount 0`,
    route: POST,
    request: resolve('post', 'no-hold', { amount: 0 }),
    status: 400,
    code: 'amount_out_of_range',
    field: 'amount',
  },
  {
    name: `${POST}: amount negative`,
    route: POST,
    request: resolve('post', 'no-hold', { amount: '-1' }),
    status: 400,
    code: 'amount_invalid',
    field: 'amount',
  },
  {
    name: `${POST}: amount 2^128`,
    route: POST,
    request: resolve('post', 'no-hold', { amount: (1n << 128n).toString() }),
    status: 400,
    code: 'amount_out_of_range',
    field: 'amount',
  },
  {
    name: `${POST}: amount 1e400`,
    route: POST,
    request: rawBody('post', 'no-hold', '{"amount":1e400}'),
    status: 400,
    code: 'amount_invalid',
    field: 'amount',
  },
  {
    name: `${POST}: amount null`,
    route: POST,
    request: resolve('post', 'no-hold', { amount: null }),
    status: 400,
    code: 'amount_invalid',
    field: 'amount',
  },
  {
    name: `${POST}: an unknown field`,
    route: POST,
    request: resolve('post', 'no-hold', { amount: 1, memo: 'x' }),
    status: 400,
    code: 'unknown_field',
    field: 'memo',
  },
  {
    name: `${POST}: the body a string`,
    route: POST,
    request: resolve('post', 'no-hold', 'all'),
    status: 400,
    code: 'invalid_body',
  },
  {
    name: `${POST}: the body null posts the whole hold (none here)`,
    route: POST,
    request: resolve('post', 'no-hold', null),
    status: 404,
    code: 'journal_not_found',
  },
  {
    name: `${VOID}: an amount`,
    route: VOID,
    request: resolve('void', 'no-hold', { amount: 1 }),
    status: 400,
    code: 'unknown_field',
    field: 'body',
  },
  {
    name: `${VOID}: the body an array`,
    route: VOID,
    request: resolve('void', 'no-hold', []),
    status: 400,
    code: 'unknown_field',
    field: 'body',
  },
  {
    name: `${VOID}: a journal id of 129 characters`,
    route: VOID,
    request: () => json('POST', `/api/journal/${'j'.repeat(129)}/void`),
    status: 400,
    code: 'field_invalid',
    field: 'journalId',
  },
];
