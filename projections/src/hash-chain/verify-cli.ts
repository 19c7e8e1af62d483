/**
 * `ledger-bridge verify [--full] [--json]` against DATABASE_DIRECT_URL: checks every hash chain
 * from its last snapshot (or from genesis with `--full`) and prints OK or the first bad event.
 * Exit status: 0 every chain OK, 1 a chain was tampered with, 2 bad usage or an error.
 */
import { type ChainReport, verifyChains, type VerifyReport } from './verify';
import { type CliIo, PROCESS_IO, withDirectPool } from '../../../core/cli-io';

const USAGE = 'usage: verify [--full] [--json]';

function parseArgs(argv: string[]): { full: boolean; json: boolean } | null {
  const flags = { full: false, json: false };
  for (const arg of argv) {
    if (arg === '--full') flags.full = true;
    else if (arg === '--json') flags.json = true;
    else return null;
  }
  return flags;
}

function describe(chain: ChainReport): string {
  const bad = chain.firstBad;
  if (bad === null) {
    return (
      `OK        ${chain.chain}: head ${chain.headPosition}, checked ${chain.eventsChecked} ` +
      `event(s) from ${chain.fromPosition}, ${chain.blocksChecked} block(s)`
    );
  }
  const event = bad.eventId === null ? 'no event' : `event ${bad.eventId}`;
  return `TAMPERED  ${bad.chain} at position ${bad.position} (${event}): ${bad.problem}: ${bad.detail}`;
}

function summary(report: VerifyReport): string {
  const perSecond =
    report.elapsedMs > 0 ? Math.round((report.eventsChecked * 1000) / report.elapsedMs) : 0;
  const verdict = report.ok ? 'OK' : 'TAMPERED';
  return (
    `verify${report.full ? ' --full' : ''}: ${verdict}, ${report.chains.length} chain(s), ` +
    `${report.eventsChecked} event(s) checked in ${report.elapsedMs} ms (${perSecond} events/s)`
  );
}

export async function runVerify(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  const flags = parseArgs(argv);
  if (flags === null) {
    io.err(USAGE);
    return 2;
  }
  try {
    const report = await withDirectPool(io, 'ledger-bridge-verify', (pool) =>
      verifyChains(pool, { full: flags.full }),
    );
    if (flags.json) io.out(JSON.stringify(report));
    else {
      for (const chain of report.chains) io.out(describe(chain));
      io.out(summary(report));
    }
    return report.ok ? 0 : 1;
  } catch (error) {
    io.err(`verify failed: ${(error as Error).message}`);
    return 2;
  }
}
