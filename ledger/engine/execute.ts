/**
 * What the engine server does with one request frame (./server.ts): checks the body's shape for
 * its operation, runs it on the ledger and encodes the reply frames (./protocol.ts).
 */
import { Operation } from 'tigerbeetle-node/dist/bindings';
import { BATCH_EVENTS_MAX, LedgerError } from '../port';
import {
  ACCOUNT_SIZE,
  decodeAccounts,
  decodeTransfers,
  encodeAccounts,
  encodeTransfers,
  TRANSFER_SIZE,
} from './codec';
import { decodeChangesFilter, encodeChangeEvents } from './change-codec';
import type { EmbeddedLedger } from './ledger';
import {
  ACCOUNT_FILTER_BYTES,
  allocateReply,
  decodeAccountFilter,
  decodeIds,
  decodeQueryFilter,
  encodeBalances,
  ID_BYTES,
  ProtocolError,
  QUERY_FILTER_BYTES,
  REPLY_OK,
  replyHeader,
  RESULT_BYTES,
  writeResults,
} from './protocol';

function bodyCount(body: Buffer, size: number, what: string): number {
  if (body.length % size !== 0) {
    throw new ProtocolError(`${what}: body of ${body.length} bytes is not a multiple of ${size}`);
  }
  return body.length / size;
}

function bodyExact(body: Buffer, size: number, what: string): void {
  if (body.length !== size) {
    throw new ProtocolError(`${what}: body of ${body.length} bytes, expected ${size}`);
  }
}

function tooMuchData(what: string, count: number): Promise<never> {
  return Promise.reject(
    new LedgerError(
      'too_much_data',
      `${what}: ${count} events exceed the batch limit of ${BATCH_EVENTS_MAX}`,
    ),
  );
}

function records(requestId: number, encoded: Buffer): Buffer[] {
  return [replyHeader(requestId, REPLY_OK, encoded.length), encoded];
}

function results(requestId: number, list: readonly { timestamp: bigint; status: number }[]) {
  const frame = allocateReply(requestId, REPLY_OK, list.length * RESULT_BYTES);
  writeResults(frame, list);
  return [frame];
}

/**
 * Checks the body's shape synchronously (a ProtocolError closes the connection before anything
 * runs), then starts the ledger call; the promise yields the reply frames.
 */
export function execute(
  ledger: EmbeddedLedger,
  requestId: number,
  operation: number,
  body: Buffer,
): Promise<Buffer[]> {
  switch (operation) {
    case Operation.create_accounts: {
      const count = bodyCount(body, ACCOUNT_SIZE, 'create_accounts');
      if (count > BATCH_EVENTS_MAX) return tooMuchData('create_accounts', count);
      return ledger.createAccounts(decodeAccounts(body)).then((r) => results(requestId, r));
    }
    case Operation.create_transfers: {
      const count = bodyCount(body, TRANSFER_SIZE, 'create_transfers');
      if (count > BATCH_EVENTS_MAX) return tooMuchData('create_transfers', count);
      return ledger.createTransfers(decodeTransfers(body)).then((r) => results(requestId, r));
    }
    case Operation.lookup_accounts:
    case Operation.lookup_transfers: {
      const what = operation === Operation.lookup_accounts ? 'lookup_accounts' : 'lookup_transfers';
      const count = bodyCount(body, ID_BYTES, what);
      if (count > BATCH_EVENTS_MAX) return tooMuchData(what, count);
      const ids = decodeIds(body);
      if (operation === Operation.lookup_accounts) {
        return ledger.lookupAccounts(ids).then((a) => records(requestId, encodeAccounts(a)));
      }
      return ledger.lookupTransfers(ids).then((t) => records(requestId, encodeTransfers(t)));
    }
    case Operation.get_account_transfers:
      bodyExact(body, ACCOUNT_FILTER_BYTES, 'get_account_transfers');
      return ledger
        .getAccountTransfers(decodeAccountFilter(body))
        .then((t) => records(requestId, encodeTransfers(t)));
    case Operation.get_account_balances:
      bodyExact(body, ACCOUNT_FILTER_BYTES, 'get_account_balances');
      return ledger
        .getAccountBalances(decodeAccountFilter(body))
        .then((b) => records(requestId, encodeBalances(b)));
    case Operation.query_accounts:
      bodyExact(body, QUERY_FILTER_BYTES, 'query_accounts');
      return ledger
        .queryAccounts(decodeQueryFilter(body))
        .then((a) => records(requestId, encodeAccounts(a)));
    case Operation.query_transfers:
      bodyExact(body, QUERY_FILTER_BYTES, 'query_transfers');
      return ledger
        .queryTransfers(decodeQueryFilter(body))
        .then((t) => records(requestId, encodeTransfers(t)));
    case Operation.get_change_events: {
      const { timestampMin, limit } = decodeChangesFilter(body);
      return ledger
        .changes(timestampMin, limit)
        .then((c) => records(requestId, encodeChangeEvents(c)));
    }
    default:
      throw new ProtocolError(`unknown operation ${operation}`);
  }
}
