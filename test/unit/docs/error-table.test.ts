/**
 * Proves the README's error table (API, "Error codes") is the code's: every code the API can
 * answer with, read from the code by test/support/docs/error-codes.ts (the compiler's view of
 * bridge/src and nginx's error pages, never a hand-kept list), is in the table with exactly the
 * statuses the code answers it with, and every code in the table is one the code can answer.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  collectErrorCodes,
  type CodeStatuses,
  readmeErrorTable,
  ROOT,
} from '../../support/docs/error-codes';

let code: CodeStatuses;
let table: Map<string, Set<number>>;
const sorted = (statuses: Set<number> | undefined) => [...(statuses ?? [])].sort();

beforeAll(() => {
  code = collectErrorCodes();
  table = readmeErrorTable(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
}, 60_000);

it('reads every error site of the code (each code has a literal type)', () => {
  expect(code.unreadable).toEqual([]);
  // A floor, so a scan that silently finds nothing fails.
  expect(code.codes.size).toBeGreaterThan(40);
});

it('knows a status for every code the code answers with', () => {
  const without = [...code.codes].filter(([, statuses]) => statuses.size === 0);
  expect(without.map(([name]) => `${name} (${code.where.get(name)})`)).toEqual([]);
});

it('lists every code the code answers with, with the same statuses', () => {
  const wrong = [...code.codes]
    .filter(([name, statuses]) => sorted(table.get(name)).join() !== sorted(statuses).join())
    .map(([name, statuses]) => ({
      code: name,
      where: code.where.get(name),
      code_statuses: sorted(statuses),
      readme_statuses: table.has(name) ? sorted(table.get(name)) : 'missing',
    }));
  expect(wrong).toEqual([]);
});

it('lists no code the code cannot answer with', () => {
  expect([...table.keys()].filter((name) => !code.codes.has(name))).toEqual([]);
});
