/**
 * Proves the migration CLI as an operator runs it (a real `node --import tsx` child process):
 * `status`, `up`, `down [n]` against this file's own schema (selected through the connection
 * URL's `options`), with exit status 0 when done and 2 on bad usage.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { config, createTestSchema, type TestSchema } from '../../support/store/schema';

const CLI = path.join(__dirname, '..', '..', '..', 'core', 'postgres', 'migrate-cli.ts');
let schema: TestSchema;

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const url = new URL(config.DATABASE_DIRECT_URL);
  url.searchParams.set('options', `-c search_path=${schema.name}`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    env: { ...process.env, DATABASE_DIRECT_URL: url.toString(), LOG_LEVEL: 'warn' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(async () => {
  schema = await createTestSchema('cli');
});
afterAll(() => schema.drop());

it('reports, applies and reverts migrations, with exit statuses', () => {
  expect(cli('status')).toMatchObject({ status: 0, stdout: expect.stringMatching(/pending/) });
  expect(cli('up')).toMatchObject({
    status: 0,
    stdout: expect.stringMatching(/applied \d+ migration/),
  });
  expect(cli('up')).toMatchObject({ status: 0, stdout: expect.stringMatching(/up to date/) });
  expect(cli('status')).toMatchObject({ status: 0, stdout: expect.stringMatching(/applied/) });
  expect(cli('down', '99')).toMatchObject({
    status: 0,
    stdout: expect.stringMatching(/reverted \d+ migration/),
  });
  expect(cli('status')).toMatchObject({ status: 0, stdout: expect.not.stringMatching(/applied/) });
  expect(cli('down', '0')).toMatchObject({ status: 2, stderr: expect.stringMatching(/usage/) });
  expect(cli('sideways')).toMatchObject({ status: 2 });
});
