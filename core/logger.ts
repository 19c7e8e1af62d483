/** Structured JSON logs (pino): one logger per process, children per component. */
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'ledger-bridge' } });
}
