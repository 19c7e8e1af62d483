/**
 * Jest globalTeardown of the containers tier: removes every container and the network its
 * globalSetup started (global-setup.ts), whether the tests passed or not. Ryuk cannot do it here.
 */
import { getRun, stopRun } from './state';

export default async function globalTeardown(): Promise<void> {
  const run = getRun();
  if (run === undefined) return;
  await stopRun(run, (message) => process.stderr.write(`[test:containers] ${message}\n`));
}
