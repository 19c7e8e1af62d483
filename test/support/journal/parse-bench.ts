/**
 * Measures what the pure write path costs per journal: parseJournal over the load test's 2-line
 * body and a 10-line one (and with JSON.parse, for scale), the zod contract schema for comparison,
 * and planJournal. Run: npx tsx test/support/journal/parse-bench.ts. Prints µs per journal, the median of
 * 7 rounds (not a jest test: timing has no place in CI).
 */
import { planJournal } from '../../../bridge/src/journal/plan';
import { JournalBodySchema, parseJournal } from '../../../bridge/src/journal/schema';
import { ref } from './cases';

function body(lines: number, i: number): unknown {
  return {
    journalId: `01J${String(i).padStart(23, '0')}`,
    date: '2024-03-01',
    description: 'load test journal',
    source: 'k6',
    lines: Array.from({ length: lines }, (_, n) => ({
      accountId: `acct-${(i + n) % 1000}`,
      lineType: n === 0 ? 'DEBIT' : 'CREDIT',
      amount: n === 0 ? String(100 * (lines - 1)) : 100,
      lineNumber: n + 1,
    })),
  };
}

function measure(name: string, count: number, run: (i: number) => void): void {
  const rounds: number[] = [];
  for (let round = 0; round < 7; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < count; i++) run(i);
    rounds.push(Number(process.hrtime.bigint() - start) / 1000 / count);
  }
  rounds.sort((a, b) => a - b);
  console.log(`${name}: ${rounds[3]!.toFixed(2)} µs/journal (min ${rounds[0]!.toFixed(2)})`);
}

const N = 50_000;
const two = Array.from({ length: N }, (_, i) => JSON.parse(JSON.stringify(body(2, i))) as unknown);
const ten = Array.from({ length: N }, (_, i) => JSON.parse(JSON.stringify(body(10, i))) as unknown);
measure('parseJournal, 2 lines', N, (i) => parseJournal(two[i]));
measure('parseJournal, 10 lines', N, (i) => parseJournal(ten[i]));
const texts = two.map((b) => JSON.stringify(b));
measure('JSON.parse alone, 2 lines', N, (i) => JSON.parse(texts[i]!));
measure('zod contract schema, 2 lines', N, (i) => JournalBodySchema.parse(two[i]));
const accounts = new Map(
  Array.from({ length: 1000 }, (_, k) => ref(`acct-${k}`, 'USD')).map((r) => [r.accountId, r]),
);
const parsed2 = two.map((b) => parseJournal(b));
const parsed10 = ten.map((b) => parseJournal(b));
measure('planJournal, 2 lines', N, (i) => planJournal(parsed2[i]!, accounts));
measure('planJournal, 10 lines', N, (i) => planJournal(parsed10[i]!, accounts));
