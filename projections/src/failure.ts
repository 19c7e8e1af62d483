/**
 * Why a projection transaction failed, which decides what the runner does next:
 *
 * - `transient`: the database or Kafka cannot serve us right now, and the same events will apply
 *   later: the partition pauses, backs off (without holding a consumer slot) and retries from its
 *   checkpoint. PostgreSQL unavailable (core/postgres/errors.ts: SQLSTATE class 08, 53300,
 *   57P01–57P03, 57014 statement timeout, socket errors, pool/connect timeouts, "Connection
 *   terminated"), the rest of class 53 (insufficient resources: disk full, out of memory), 58000
 *   and 58030 (system and I/O errors), a transaction that lost a race (40001 serialization,
 *   40P01 deadlock, 55P03 lock not available), a socket or DNS failure, and any Kafka error
 *   (kafkajs's, or a dead letter that could not be sent).
 * - `data`: anything else — class 22 (a value PostgreSQL refuses, such as U+0000 in text), 23 (a
 *   constraint), an InvariantError, a projection throwing on an event, a bug. Retrying the same
 *   events gives the same failure, so the runner isolates the event that fails alone and
 *   dead-letters it rather than stalling its partition.
 *
 * The error, its `cause` chain and an AggregateError's members are all examined (a refused
 * connection to a host with two addresses is an AggregateError): any transient one wins.
 */
import { isStoreUnavailable } from '../../core/postgres/errors';
import { DeadLetterSendError } from './dead-letter';

export type FailureClass = 'transient' | 'data';

/** SQLSTATE codes beyond core's "store unavailable" that a later retry gets past. */
const TRANSIENT_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
  '58000', // system_error
  '58030', // io_error
]);
/** Class 53: insufficient resources (disk full, out of memory, too many connections). */
const TRANSIENT_SQLSTATE_CLASSES = ['53'];
/** Socket and resolver failures beyond core's list. */
const TRANSIENT_NODE_CODES = new Set([
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
]);
/** How deep causes are followed: bounds a cycle or a pathological chain. */
const CAUSE_DEPTH_MAX = 8;

function isTransientNode(error: object): boolean {
  if (error instanceof DeadLetterSendError) return true;
  if (isStoreUnavailable(error)) return true;
  const { code, name } = error as { code?: unknown; name?: unknown };
  // kafkajs's errors all derive from KafkaJSError and carry its name prefix.
  if (typeof name === 'string' && name.startsWith('KafkaJS')) return true;
  if (typeof code !== 'string') return false;
  if (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_NODE_CODES.has(code)) return true;
  return TRANSIENT_SQLSTATE_CLASSES.some((prefix) => code.length === 5 && code.startsWith(prefix));
}

/** `transient` when the error or anything it wraps is transient, else `data`. */
export function classifyFailure(error: unknown): FailureClass {
  const pending: { error: unknown; depth: number }[] = [{ error, depth: 0 }];
  while (pending.length > 0) {
    const { error: node, depth } = pending.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (isTransientNode(node)) return 'transient';
    if (depth >= CAUSE_DEPTH_MAX) continue;
    const { cause, errors } = node as { cause?: unknown; errors?: unknown };
    if (cause !== undefined) pending.push({ error: cause, depth: depth + 1 });
    if (Array.isArray(errors)) {
      for (const member of errors) pending.push({ error: member, depth: depth + 1 });
    }
  }
  return 'data';
}
