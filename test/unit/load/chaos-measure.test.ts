/**
 * The chaos run's client figures (load/chaos/measure.ts) from k6's console lines: parsing, which
 * journals count for a fault, error answers, waits, and the recovery of the rate.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clientFigures, readClientLog } from '../../../load/chaos/measure';
import { chaosMarkdown, type FaultRow, rowClean } from '../../../load/chaos/report';

function k6Line(msg: string): string {
  return `time="2026-12-03T18:00:00Z" level=info msg="${msg}" source=console`;
}

function logFile(lines: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chaos-measure-'));
  const file = path.join(dir, 'clients.log');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

it('reads acks, give-ups and failed reads, and ignores k6 lines of its own', () => {
  const file = logFile([
    k6Line('ack j1 1000 1020 1'),
    'time="2026-12-03T18:00:00Z" level=warning msg="Request Failed" error="EOF"',
    k6Line('gaveup j2 1000 121000 300 503'),
    k6Line('readfail journal-read 5000 425'),
  ]);
  expect(readClientLog(file)).toEqual({
    acks: [{ journalId: 'j1', firstMs: 1000, ackMs: 1020, attempts: 1 }],
    gaveUp: [{ journalId: 'j2', firstMs: 1000, lastMs: 121000, attempts: 300, lastStatus: '503' }],
    readFailures: [{ kind: 'journal-read', atMs: 5000, status: '425' }],
  });
  expect(readClientLog(path.join(path.dirname(file), 'absent.log'))).toEqual({
    acks: [],
    gaveUp: [],
    readFailures: [],
  });
});

/** 10 acks a second from 0 to `untilMs`, each answered in 10 ms at the first attempt. */
function steady(fromMs: number, untilMs: number) {
  const acks = [];
  for (let t = fromMs; t < untilMs; t += 100) {
    acks.push({ journalId: `s${t}`, firstMs: t, ackMs: t + 10, attempts: 1 });
  }
  return acks;
}

it('counts a fault from its injection to the end of the after window, and times the recovery', () => {
  const window = { injectedMs: 10_000, returnedMs: 15_000, preMs: 10_000, afterMs: 10_000 };
  // Nothing is acknowledged while the part is down; the clients that waited get through at
  // 15.5 s after several attempts; the steady rate is back from 17 s on.
  const waited = [0, 1, 2].map((i) => ({
    journalId: `w${i}`,
    firstMs: 11_000 + i,
    ackMs: 15_500,
    attempts: 4,
  }));
  const log = {
    acks: [...steady(0, 10_000), ...waited, ...steady(17_000, 30_000)],
    gaveUp: [{ journalId: 'g', firstMs: 12_000, lastMs: 20_000, attempts: 5, lastStatus: '503' }],
    readFailures: [
      { kind: 'balance', atMs: 9_999, status: '503' },
      { kind: 'journal-read', atMs: 16_000, status: '425' },
    ],
  };
  const figures = clientFigures(log, window);
  expect(figures).toEqual({
    // 3 waited + 80 steady ones sent from 17 s to 25 s + the one given up.
    journalsSent: 3 + 80 + 1,
    errorAnswers: 3 * 3 + 5,
    readFailures: 1,
    gaveUp: 1,
    longestWaitMs: 15_500 - 11_000,
    p99DuringMs: 15_500 - 11_000,
    p99AfterMs: 10,
    preRatePerSecond: 10,
    recoveredAfterMs: 2_000,
  });
});

it('says null when the rate never came back within the after window', () => {
  const window = { injectedMs: 10_000, returnedMs: 15_000, preMs: 10_000, afterMs: 5_000 };
  const log = { acks: steady(0, 10_000), gaveUp: [], readFailures: [] };
  expect(clientFigures(log, window).recoveredAfterMs).toBeNull();
  expect(clientFigures(log, window).p99AfterMs).toBeNull();
});

function row(overrides: Partial<FaultRow> = {}): FaultRow {
  const window = { injectedMs: 10_000, returnedMs: 15_000, preMs: 10_000, afterMs: 10_000 };
  return {
    id: 'replica-kill',
    title: 'kill -9 of replica 2',
    atSeconds: 10,
    downMs: 5_000,
    error: null,
    crashed: [],
    clients: clientFigures({ acks: steady(0, 30_000), gaveUp: [], readFailures: [] }, window),
    books: { checked: 300, missingInLedger: [], missingInStore: [], wrongLines: [] },
    duplicated: 0,
    mismatches: 0,
    reconcileDeferred: null,
    chainOk: true,
    ...overrides,
  };
}

it('a row is clean only with nothing lost, doubled or mismatched, and the chain intact', () => {
  expect(rowClean(row())).toBe(true);
  const books = { checked: 300, missingInLedger: [], missingInStore: ['j'], wrongLines: [] };
  expect(rowClean(row({ books }))).toBe(false);
  expect(rowClean(row({ duplicated: 1 }))).toBe(false);
  expect(rowClean(row({ mismatches: 2 }))).toBe(false);
  expect(rowClean(row({ mismatches: null }))).toBe(false);
  expect(rowClean(row({ reconcileDeferred: 'behind' }))).toBe(false);
  expect(rowClean(row({ chainOk: false }))).toBe(false);
  expect(rowClean(row({ error: 'start.sh failed' }))).toBe(false);
});

it('the report says CLEAN or FAILED and shows each row with its audit and goals', () => {
  const report = {
    command: 'npm run chaos',
    startedAt: 'a',
    finishedAt: 'b',
    machine: { cpus: 2, cpuModel: 'cpu', memoryGiB: 24 },
    rate: 100,
    timing: { preMs: 10_000, afterMs: 10_000 },
    acknowledged: 300,
    gaveUp: 0,
    rows: [row()],
  };
  const clean = chaosMarkdown(report);
  expect(clean).toMatch(/^# Chaos run: CLEAN/);
  expect(clean).toContain('| replica-kill | 10 | 5000 | 0 | 0 | 0 | 10 | 10 | 10 | 0 |');
  expect(clean).toContain('300 checked, lost 0, dup 0, mismatches 0, chain OK');
  expect(clean).toContain('no errors ✓, rate ≤ 10 s ✓');
  const failed = chaosMarkdown({ ...report, rows: [row({ mismatches: 1 })] });
  expect(failed).toMatch(/^# Chaos run: FAILED/);
});
