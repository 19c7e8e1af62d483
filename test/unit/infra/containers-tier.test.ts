/**
 * Proves the containers tier's fixed parts without an engine: every test file it leaves out
 * exists (a renamed one would silently run against containers, and some of them stop the local
 * stack's own services), each with a reason, and jest.containers.config.js ignores exactly those;
 * and PgBouncer's production file, rewritten for the tier, routes the stack's three databases to
 * the primary's container.
 */
import fs from 'node:fs';
import path from 'node:path';
import excluded from '../../support/containers/excluded.json';
import { pgbouncerIni } from '../../support/containers/services';

const ROOT = path.resolve(__dirname, '..', '..', '..');

describe('the containers tier', () => {
  it.each(excluded)('leaves out $test, which exists, with a reason', ({ test, why }) => {
    expect(fs.existsSync(path.join(ROOT, test))).toBe(true);
    expect(test).toMatch(/^test\/integration\/.+\.test\.ts$/);
    expect(why.length).toBeGreaterThan(10);
  });

  it('ignores exactly the excluded files', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const config = require(path.join(ROOT, 'jest.containers.config.js')) as {
      projects: { testPathIgnorePatterns: string[] }[];
    };
    const patterns = config.projects[0]?.testPathIgnorePatterns ?? [];
    const ignored = (file: string) =>
      patterns.some((p) => new RegExp(p.replace('<rootDir>', ROOT)).test(path.join(ROOT, file)));
    for (const { test } of excluded) expect(ignored(test)).toBe(true);
    expect(ignored('test/integration/balances/route.test.ts')).toBe(false);
  });

  it('routes ledger, ledger_test and ledger_load through PgBouncer to the primary', () => {
    const production = fs.readFileSync(path.join(ROOT, 'infra/pgbouncer/production.ini'), 'utf8');
    const ini = pgbouncerIni(production, 'ledger-bridge-tc-1-postgres');
    for (const db of ['ledger', 'ledger_test', 'ledger_load']) {
      expect(ini).toContain(`${db} = host=ledger-bridge-tc-1-postgres port=5432 dbname=${db}\n`);
    }
    expect(ini).not.toContain('postgres-primary');
    expect(() => pgbouncerIni('[databases]\n', 'h')).toThrow(/has changed/);
  });
});
