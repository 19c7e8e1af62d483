/**
 * The hostile-input suite's world: accounts and journals with ids unique to the run (the cluster
 * and Redis outlive runs and are shared with other runs), made through the API itself, and what
 * the cases need from them (tokens, a statement cursor). Also the case type every table shares.
 */
import { encodeCursor } from '../../../../bridge/src/statements/cursor';
import { type RawAnswer, type RawRequest, sendRaw } from '../raw-client';

export interface World {
  base: string;
  run: string;
  /** `<run>-<name>`: an id of this run. */
  id(name: string): string;
  /** The journal posted last at set-up, as projected: its id and the tokens its 201 carried. */
  posted: { journalId: string; consistencyToken: string; balanceToken: string };
  /** The ledger time of the run's first transfer (ns): the window the suite reconciles. */
  firstTransferNs: bigint;
  /** A statement cursor of `id('cash')`, as the API issued it. */
  cursor: string;
  /** The world's API key (every scope). */
  key: string;
  /** Sends the request with the world's API key, unless `anonymous` (or it carries its own). */
  send(request: RawRequest, anonymous?: boolean): Promise<RawAnswer>;
}

export interface HostileCase {
  /** Unique in the suite: the test's name. */
  name: string;
  /** `METHOD /pattern` of the route aimed at, or 'listener' for what no route sees. */
  route: string;
  request: (w: World) => RawRequest;
  status: number;
  /** The error code answered, or null when the answer is not an error. */
  code: string | null;
  /** The field the error must name. */
  field?: string;
  /** Runs before the request (e.g. makes the hold the case resolves). */
  setup?: (w: World) => Promise<void>;
  /** Sent without the world's API key. */
  anonymous?: boolean;
  /** Further assertions on the answer. */
  check?: (answer: RawAnswer, w: World) => void;
}

/** A request with a JSON body (application/json) or none. */
export function json(method: string, target: string, body?: unknown): RawRequest {
  if (body === undefined) return { method, target };
  return {
    method,
    target,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  };
}

/** Accounts of the world: name → [account type, asset]. */
export const WORLD_ACCOUNTS: Readonly<Record<string, readonly [string, string]>> = {
  cash: ['asset', 'USD'],
  rent: ['expense', 'USD'],
  fees: ['fee', 'USD'],
  tax: ['liability', 'USD'],
  wallet: ['liability', 'USD'],
  'eur-cash': ['asset', 'EUR'],
  'eur-sales': ['revenue', 'EUR'],
};

export function journalBody(
  journalId: string,
  lines: ReadonlyArray<readonly [string, 'DEBIT' | 'CREDIT', number | string]>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    journalId,
    date: '2026-12-03',
    description: `hostile ${journalId}`,
    source: 'test/hostile',
    lines: lines.map(([accountId, lineType, amount], i) => ({
      accountId,
      lineType,
      amount,
      lineNumber: i + 1,
    })),
    ...extra,
  };
}

async function expectAnswer(
  w: Pick<World, 'send'>,
  request: RawRequest,
  statuses: number[],
): Promise<RawAnswer> {
  const answer = await w.send(request);
  if (!statuses.includes(answer.status)) {
    const text = answer.body.toString('utf8').slice(0, 500);
    throw new Error(`set-up ${request.method} ${request.target}: ${answer.status} ${text}`);
  }
  return answer;
}

/** Posts a journal at set-up; throws unless it is 201. */
export async function postJournal(w: Pick<World, 'send'>, body: unknown): Promise<RawAnswer> {
  return expectAnswer(w, json('POST', '/api/journal', body), [201]);
}

export async function createAccount(
  w: Pick<World, 'send'>,
  body: Record<string, unknown>,
): Promise<RawAnswer> {
  return expectAnswer(w, json('POST', '/api/accounts', body), [200, 201]);
}

/** Longest the set-up waits for the projection worker to apply its journals. */
const PROJECTED_WAIT_MS = 60_000;

async function untilProjected(
  w: Pick<World, 'send'>,
  target: string,
  consistencyToken: string,
): Promise<void> {
  const deadline = Date.now() + PROJECTED_WAIT_MS;
  for (;;) {
    const request = { method: 'GET', target, headers: { 'Consistency-Token': consistencyToken } };
    const answer = await expectAnswer(w, request, [200, 425]);
    if (answer.status === 200) return;
    if (Date.now() > deadline)
      throw new Error(`${target} not projected in ${PROJECTED_WAIT_MS} ms`);
  }
}

/**
 * The request with the world's API key, unless it carries an Authorization header of its own (a
 * case about keys). A request written as raw bytes gets the header after its first line.
 */
function withAuthorization(request: RawRequest, key: string): RawRequest {
  const header = `Authorization: Bearer ${key}`;
  if (request.bytes !== undefined) {
    const bytes = Buffer.from(request.bytes as string, 'latin1');
    const lineEnd = bytes.indexOf('\r\n');
    if (lineEnd === -1 || /\r\nauthorization:/i.test(bytes.toString('latin1'))) return request;
    const head = bytes.subarray(0, lineEnd + 2);
    const rest = bytes.subarray(lineEnd + 2);
    return { ...request, bytes: Buffer.concat([head, Buffer.from(`${header}\r\n`), rest]) };
  }
  const headers = request.headers ?? {};
  if (Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')) return request;
  return { ...request, headers: { Authorization: `Bearer ${key}`, ...headers } };
}

/** Makes the world through the API: its accounts, two journals on cash, a statement cursor. */
export async function prepareWorld(base: string, run: string, key: string): Promise<World> {
  const id = (name: string) => `${run}-${name}`;
  const send = (request: RawRequest, anonymous = false) =>
    sendRaw(base, anonymous ? request : withAuthorization(request, key));
  for (const [name, [accountType, asset]] of Object.entries(WORLD_ACCOUNTS)) {
    const body = { accountId: id(name), name, holderId: id('holder'), accountType, asset };
    await createAccount({ send }, body);
  }
  const first = await postJournal(
    { send },
    journalBody(id('world-1'), [
      [id('cash'), 'DEBIT', 700],
      [id('rent'), 'CREDIT', 700],
    ]),
  );
  const second = await postJournal(
    { send },
    journalBody(id('world-2'), [
      [id('cash'), 'DEBIT', 300],
      [id('rent'), 'CREDIT', 300],
    ]),
  );
  const consistencyToken = second.headers['consistency-token']!;
  // Reads of the second journal answer 200 once it is projected; 425 until then (the worker may
  // still be joining its consumer group), which says to retry.
  await untilProjected({ send }, `/api/journal/${id('world-2')}`, consistencyToken);
  const transfer = first.json.transfers[0];
  return {
    base,
    run,
    key,
    id,
    posted: {
      journalId: id('world-2'),
      consistencyToken,
      balanceToken: second.headers['balance-token']!,
    },
    firstTransferNs: BigInt(transfer.timestamp),
    // What the API issues as nextCursor for a page ending at the first journal's entry.
    cursor: encodeCursor({ tbTimestamp: transfer.timestamp, transferId: transfer.id }),
    send,
  };
}
