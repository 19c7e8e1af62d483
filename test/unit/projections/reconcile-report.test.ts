/**
 * Proves `ledger-bridge reconcile`'s text report ends in exactly one verdict: DEFERRED when no
 * safe horizon could be proven (then no counts, since nothing was compared, and never "OK"), OK
 * when the comparison was clean, the mismatch count otherwise. Reports are built by the
 * reconciler's own ReportBuilder on a fixed clock.
 */
import {
  formatReport,
  ReportBuilder,
  verdictLine,
} from '../../../projections/src/reconcile/report';

const WINDOW = { timestampMin: '1', timestampMax: '2', horizonSource: 'test' };
const VERDICT = /^(DEFERRED\b|OK\b|\d+ mismatches$)/;

function report(deferred: string | null, mismatches = 0) {
  const builder = new ReportBuilder(5, () => 0);
  for (let i = 0; i < mismatches; i++) {
    builder.add({ kind: 'transfer_without_metadata', transferId: String(i) });
  }
  return builder.finish(WINDOW, deferred);
}

const verdicts = (text: string) => text.split('\n').filter((line) => VERDICT.test(line));

it('a deferred run says DEFERRED once, last, and neither OK nor any count', () => {
  const text = formatReport(report('behind: partition 0: 3 events'));
  expect(verdicts(text)).toEqual(['DEFERRED, nothing compared: behind: partition 0: 3 events']);
  expect(text.split('\n').at(-1)).toBe(verdicts(text)[0]);
  expect(text).not.toMatch(/\bOK\b|mismatches|accounts:|transfers:/);
});

it.each([
  [0, 'OK: 0 mismatches'],
  [2, '2 mismatches'],
])('a compared run with %i mismatches ends in one verdict: %s', (mismatches, verdict) => {
  const text = formatReport(report(null, mismatches));
  expect(verdicts(text)).toEqual([verdict]);
  expect(text.split('\n').at(-1)).toBe(verdict);
  expect(text).not.toMatch(/DEFERRED/);
  expect(verdictLine(report(null, mismatches))).toBe(verdict);
});
