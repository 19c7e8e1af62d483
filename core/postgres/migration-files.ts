/**
 * The migration files on disk: `NNNN_name.up.sql` with its `NNNN_name.down.sql`, in version order.
 * A file's checksum is the SHA-256 of its up script: once applied, the up script must never
 * change (the runner refuses to run), while a down script may still be corrected.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const MIGRATIONS_DIR = path.join(__dirname, 'migrations');

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.(up|down)\.sql$/;
/** The runner wraps every migration in its own transaction; a script must not manage one. */
const TRANSACTION_CONTROL = /^\s*(BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION|END)\s*;/im;

export interface MigrationFile {
  version: number;
  name: string;
  up: string;
  down: string;
  /** SHA-256 (hex) of the up script. */
  checksum: string;
}

export type MigrationErrorCode =
  'bad_file' | 'checksum_mismatch' | 'missing_file' | 'out_of_order' | 'no_schema' | 'lock_timeout';

/** The migrations cannot be run as they stand; nothing was changed. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  constructor(
    readonly code: MigrationErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql, 'utf8').digest('hex');
}

interface Half {
  name: string;
  up?: string;
  down?: string;
}

function readHalves(dir: string): Map<number, Half> {
  const halves = new Map<number, Half>();
  for (const file of fs.readdirSync(dir).sort()) {
    if (!file.endsWith('.sql')) continue;
    const match = FILE_NAME.exec(file);
    if (match === null) {
      throw new MigrationError('bad_file', `${file}: expected NNNN_name.up.sql or .down.sql`);
    }
    const [, digits, name, direction] = match as unknown as [string, string, string, string];
    const version = Number(digits);
    const sql = fs.readFileSync(path.join(dir, file), 'utf8');
    if (TRANSACTION_CONTROL.test(sql)) {
      throw new MigrationError('bad_file', `${file}: must not BEGIN/COMMIT (the runner does)`);
    }
    const half = halves.get(version) ?? { name };
    if (half.name !== name) {
      throw new MigrationError(
        'bad_file',
        `version ${digits} has two names: ${half.name}, ${name}`,
      );
    }
    half[direction as 'up' | 'down'] = sql;
    halves.set(version, half);
  }
  return halves;
}

/** Every migration in `dir`, ascending; each version needs both its up and its down script. */
export function loadMigrations(dir: string = MIGRATIONS_DIR): MigrationFile[] {
  const files: MigrationFile[] = [];
  for (const [version, half] of readHalves(dir)) {
    const label = `${String(version).padStart(4, '0')}_${half.name}`;
    if (half.up === undefined) throw new MigrationError('bad_file', `${label}: no .up.sql`);
    if (half.down === undefined) throw new MigrationError('bad_file', `${label}: no .down.sql`);
    if (version === 0) throw new MigrationError('bad_file', `${label}: versions start at 0001`);
    files.push({
      version,
      name: half.name,
      up: half.up,
      down: half.down,
      checksum: checksumOf(half.up),
    });
  }
  return files.sort((a, b) => a.version - b.version);
}
