/**
 * Proves that the migration loader reads `NNNN_name.up.sql` / `.down.sql` pairs in version order
 * with the up script's SHA-256 as checksum, and refuses malformed sets (a missing half, a stray
 * name, two names for one version, a script that manages its own transaction) before any SQL
 * runs. Pure file-system tests over temporary directories; no database.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  checksumOf,
  loadMigrations,
  MigrationError,
  MIGRATIONS_DIR,
} from '../../../core/postgres/migration-files';

function dirWith(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migrations-'));
  for (const [name, sql] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), sql);
  return dir;
}

describe('loadMigrations', () => {
  const dirs: string[] = [];
  const make = (files: Record<string, string>) => {
    const dir = dirWith(files);
    dirs.push(dir);
    return dir;
  };
  afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

  it('reads the shipped migrations, starting with the control plane', () => {
    const files = loadMigrations(MIGRATIONS_DIR);
    expect(files[0]).toMatchObject({ version: 1, name: 'control_plane' });
    for (const file of files) {
      expect(file.checksum).toBe(checksumOf(file.up));
      expect(file.down.length).toBeGreaterThan(0);
    }
  });

  it('orders by version, not by name, and ignores files that are not .sql', () => {
    const dir = make({
      '0010_later.up.sql': 'SELECT 10;',
      '0010_later.down.sql': 'SELECT -10;',
      '0002_b.up.sql': 'SELECT 2;',
      '0002_b.down.sql': 'SELECT -2;',
      'README.md': 'notes',
    });
    const files = loadMigrations(dir);
    expect(files.map((file) => [file.version, file.name])).toEqual([
      [2, 'b'],
      [10, 'later'],
    ]);
    expect(files[0]!.checksum).toBe(checksumOf('SELECT 2;'));
  });

  it.each([
    ['a missing down script', { '0001_a.up.sql': 'SELECT 1;' }, /no \.down\.sql/],
    ['a missing up script', { '0001_a.down.sql': 'SELECT 1;' }, /no \.up\.sql/],
    ['a stray name', { '1_a.up.sql': 'SELECT 1;' }, /expected NNNN_name/],
    ['upper case in a name', { '0001_A.up.sql': 'SELECT 1;' }, /expected NNNN_name/],
    [
      'two names for one version',
      { '0001_a.up.sql': 'SELECT 1;', '0001_b.down.sql': 'SELECT 1;' },
      /two names/,
    ],
    [
      'version zero',
      { '0000_a.up.sql': 'SELECT 1;', '0000_a.down.sql': 'SELECT 1;' },
      /start at 0001/,
    ],
    [
      'a script with its own COMMIT',
      { '0001_a.up.sql': 'CREATE TABLE x ();\nCOMMIT;', '0001_a.down.sql': 'DROP TABLE x;' },
      /must not BEGIN\/COMMIT/,
    ],
  ])('refuses %s', (_label, files, message) => {
    const dir = make(files);
    expect(() => loadMigrations(dir)).toThrow(MigrationError);
    expect(() => loadMigrations(dir)).toThrow(message);
  });
});

describe('owners', () => {
  it('every migration has an owner in migrations/README.md, and the owner exists', () => {
    const readme = fs.readFileSync(path.join(MIGRATIONS_DIR, 'README.md'), 'utf8');
    const owners = new Map(
      [...readme.matchAll(/^\| `(\d{4}_[a-z0-9_]+)` \| `([^`]+)` \|/gm)].map((m) => [m[1]!, m[2]!]),
    );
    const root = path.resolve(MIGRATIONS_DIR, '..', '..', '..');
    for (const migration of loadMigrations(MIGRATIONS_DIR)) {
      const id = `${String(migration.version).padStart(4, '0')}_${migration.name}`;
      const owner = owners.get(id);
      expect({ migration: id, owner }).toEqual({ migration: id, owner: expect.any(String) });
      expect(fs.existsSync(path.join(root, owner!))).toBe(true);
    }
  });
});
