/**
 * What the clients lived through, per fault, from k6's console lines (load/k6/chaos.js): every
 * journal's first attempt, its acknowledgement and how many attempts it took; the journals given
 * up; the reads back that never answered 200.
 *
 * For a fault injected at `injectedMs` whose part returned at `returnedMs`:
 * - **error answers**: attempts answered anything but 201 (each one a retry), and reads that
 *   failed, from the injection to `afterMs` past the return;
 * - **longest wait**: the longest any client waited from its first attempt to its 201;
 * - **p99 during / after**: of that wait, for journals first sent during the fault / in the
 *   `afterMs` after the return;
 * - **recovered after**: from the return to the first second whose acknowledgements reach
 *   RECOVERED_SHARE of the rate in the `preMs` before the injection (0 when the rate never fell).
 */
import fs from 'node:fs';

/** A second counts as recovered at this share of the pre-fault rate. */
const RECOVERED_SHARE = 0.9;

export interface Ack {
  journalId: string;
  firstMs: number;
  ackMs: number;
  attempts: number;
}

export interface GaveUp {
  journalId: string;
  firstMs: number;
  lastMs: number;
  attempts: number;
  lastStatus: string;
}

export interface ReadFailure {
  kind: string;
  atMs: number;
  status: string;
}

export interface ClientLog {
  acks: Ack[];
  gaveUp: GaveUp[];
  readFailures: ReadFailure[];
}

const LINE = /msg="(ack|gaveup|readfail) ([^"]*)"/;

/** k6's console output (`--console-output`), one logfmt line per console.log. */
export function readClientLog(file: string): ClientLog {
  const log: ClientLog = { acks: [], gaveUp: [], readFailures: [] };
  if (!fs.existsSync(file)) return log;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const match = LINE.exec(line);
    if (match === null) continue;
    const f = match[2]!.split(' ');
    if (match[1] === 'ack') {
      log.acks.push({
        journalId: f[0]!,
        firstMs: Number(f[1]),
        ackMs: Number(f[2]),
        attempts: Number(f[3]),
      });
    } else if (match[1] === 'gaveup') {
      log.gaveUp.push({
        journalId: f[0]!,
        firstMs: Number(f[1]),
        lastMs: Number(f[2]),
        attempts: Number(f[3]),
        lastStatus: f[4]!,
      });
    } else {
      log.readFailures.push({ kind: f[0]!, atMs: Number(f[1]), status: f[2]! });
    }
  }
  return log;
}

export interface FaultWindow {
  injectedMs: number;
  returnedMs: number;
  preMs: number;
  afterMs: number;
}

export interface ClientFigures {
  journalsSent: number;
  errorAnswers: number;
  readFailures: number;
  gaveUp: number;
  longestWaitMs: number;
  p99DuringMs: number | null;
  p99AfterMs: number | null;
  preRatePerSecond: number;
  recoveredAfterMs: number | null;
}

function p99(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.ceil(0.99 * sorted.length)) - 1]!;
}

/** From the return on, the first second at RECOVERED_SHARE of the pre-fault rate (ms). */
function recoveredAfter(acks: Ack[], w: FaultWindow, preRate: number): number | null {
  if (preRate === 0) return null;
  const seconds = new Map<number, number>();
  for (const a of acks) {
    if (a.ackMs < w.returnedMs) continue;
    const s = Math.floor((a.ackMs - w.returnedMs) / 1000);
    seconds.set(s, (seconds.get(s) ?? 0) + 1);
  }
  const last = Math.floor(w.afterMs / 1000);
  for (let s = 0; s <= last; s++) {
    if ((seconds.get(s) ?? 0) >= RECOVERED_SHARE * preRate) return s * 1000;
  }
  return null;
}

export function clientFigures(log: ClientLog, w: FaultWindow): ClientFigures {
  const end = w.returnedMs + w.afterMs;
  const sentIn = (from: number, to: number) => (a: { firstMs: number }) =>
    a.firstMs >= from && a.firstMs < to;
  const affected = log.acks.filter(sentIn(w.injectedMs, end));
  const gaveUp = log.gaveUp.filter(sentIn(w.injectedMs, end));
  const pre = log.acks.filter((a) => a.ackMs >= w.injectedMs - w.preMs && a.ackMs < w.injectedMs);
  const preRate = pre.length / (w.preMs / 1000);
  const wait = (a: Ack) => a.ackMs - a.firstMs;
  return {
    journalsSent: affected.length + gaveUp.length,
    errorAnswers:
      affected.reduce((n, a) => n + a.attempts - 1, 0) + gaveUp.reduce((n, g) => n + g.attempts, 0),
    readFailures: log.readFailures.filter((r) => r.atMs >= w.injectedMs && r.atMs < end).length,
    gaveUp: gaveUp.length,
    longestWaitMs: Math.max(0, ...affected.map(wait)),
    p99DuringMs: p99(affected.filter(sentIn(w.injectedMs, w.returnedMs)).map(wait)),
    p99AfterMs: p99(affected.filter(sentIn(w.returnedMs, end)).map(wait)),
    preRatePerSecond: preRate,
    recoveredAfterMs: recoveredAfter(log.acks, w, preRate),
  };
}
