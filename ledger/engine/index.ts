/** The embedded engine: TigerBeetle's semantics behind the Ledger port, durable via its own log. */
import type { Ledger } from '../port';
import { EmbeddedLedger, type EmbeddedLedgerOptions } from './ledger';

export { EmbeddedLedger, type EmbeddedLedgerOptions };

export function openEmbeddedLedger(options: EmbeddedLedgerOptions): Promise<Ledger> {
  return EmbeddedLedger.open(options);
}
