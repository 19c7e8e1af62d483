/**
 * `ledger-bridge keys create | list | rotate | revoke` against DATABASE_DIRECT_URL. The key's
 * text is printed once, by create and rotate; nothing else ever shows it.
 * Exit status: 0 done, 1 failed (the reason on stderr), 2 bad usage.
 */
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { type CliIo, PROCESS_IO, withDirectPool } from '../../../core/cli-io';
import {
  createKey,
  type IssuedKey,
  keyUsable,
  type KeyRecord,
  listKeys,
  revokeKey,
  rotateKey,
} from './key-store';
import { parseScopes } from './scopes';

const USAGE = `usage: keys create --name <name> --scopes <s1,s2|all> [--assets A,B] [--holders h1,h2]
                   [--expires-in <seconds>] [--json]
       keys list [--json]
       keys rotate <id> [--grace <seconds>] [--json]   (default grace: 3600; the old key then expires)
       keys revoke <id>`;

const OPTIONS = {
  name: { type: 'string' },
  scopes: { type: 'string' },
  assets: { type: 'string' },
  holders: { type: 'string' },
  'expires-in': { type: 'string' },
  grace: { type: 'string', default: '3600' },
  json: { type: 'boolean', default: false },
} as const;

class UsageError extends Error {}

export async function runKeys(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    io.err(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const [command, id, ...extra] = parsed.positionals;
  try {
    if (extra.length > 0) throw new UsageError(`unexpected ${extra.join(' ')}`);
    await withDirectPool(io, 'ledger-bridge-keys', (pool) =>
      runCommand(pool, command, id, parsed.values, io),
    );
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\n${USAGE}`);
      return 2;
    }
    io.err(`keys ${command ?? ''} failed: ${(error as Error).message}`);
    return 1;
  }
}

type Values = { [K in keyof typeof OPTIONS]?: string | boolean };

async function runCommand(
  pool: pg.Pool,
  command: string | undefined,
  id: string | undefined,
  values: Values,
  io: CliIo,
): Promise<void> {
  const json = values.json === true;
  if (command === 'list') {
    const now = new Date();
    const keys = await listKeys(pool);
    if (json) io.out(JSON.stringify(keys.map((key) => describe(key, now))));
    else for (const key of keys) io.out(line(describe(key, now)));
    return;
  }
  if (command === 'create') {
    if (id !== undefined) throw new UsageError('create takes no id');
    printIssued(await createKey(pool, await specOf(pool, values)), json, io);
    return;
  }
  if (id === undefined) throw new UsageError(`${command ?? 'a command'} needs a key id`);
  if (command === 'rotate') {
    printIssued(await rotateKey(pool, id, wholeSeconds('grace', values.grace)), json, io);
  } else if (command === 'revoke') {
    const revoked = await revokeKey(pool, id);
    if (revoked === null) throw new Error(`no key ${id}`);
    io.out(`revoked ${id} at ${revoked.revokedAt!.toISOString()}`);
  } else throw new UsageError(`unknown command ${command}`);
}

async function specOf(pool: pg.Pool, values: Values) {
  if (typeof values.name !== 'string' || values.name.trim() === '') {
    throw new UsageError('create needs --name');
  }
  if (typeof values.scopes !== 'string') throw new UsageError('create needs --scopes');
  let scopes;
  try {
    scopes = parseScopes(values.scopes);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const assets = list(values.assets);
  if (assets !== undefined) await requireKnownAssets(pool, assets);
  const expiresIn = values['expires-in'];
  return {
    name: values.name.trim(),
    scopes,
    assets,
    holders: list(values.holders),
    expiresAt:
      expiresIn === undefined
        ? undefined
        : new Date(Date.now() + 1000 * wholeSeconds('expires-in', expiresIn, 1)),
  };
}

function list(value: string | boolean | undefined): string[] | undefined {
  if (typeof value !== 'string') return undefined;
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0) throw new UsageError('a restriction list must name at least one item');
  return items;
}

function wholeSeconds(option: string, value: string | boolean | undefined, min = 0): number {
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value) || Number(value) < min) {
    throw new UsageError(`--${option} must be a whole number of seconds ≥ ${min}`);
  }
  return Number(value);
}

async function requireKnownAssets(pool: pg.Pool, assets: string[]): Promise<void> {
  const { rows } = await pool.query<{ code: string }>('SELECT code FROM asset ORDER BY code');
  const known = rows.map((row) => row.code);
  const unknown = assets.filter((asset) => !known.includes(asset));
  if (unknown.length > 0) {
    throw new UsageError(`unknown asset ${unknown.join(', ')} (known: ${known.join(', ')})`);
  }
}

function printIssued(issued: IssuedKey, json: boolean, io: CliIo): void {
  const { record, text } = issued;
  if (json) {
    io.out(JSON.stringify({ ...describe(record, new Date()), key: text }));
    return;
  }
  io.out(line(describe(record, new Date())));
  io.out(`key: ${text}`);
  io.out('(shown once: only its SHA-256 is stored)');
}

function describe(key: KeyRecord, now: Date) {
  const status = key.revokedAt !== null ? 'revoked' : keyUsable(key, now) ? 'active' : 'expired';
  return {
    id: key.id,
    name: key.name,
    status,
    scopes: key.scopes,
    assets: key.assets,
    holders: key.holders,
    createdAt: key.createdAt.toISOString(),
    expiresAt: key.expiresAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
    replacedBy: key.replacedBy,
  };
}

function line(key: ReturnType<typeof describe>): string {
  const restrictions = [
    key.assets === null ? '' : ` assets=${key.assets.join(',')}`,
    key.holders === null ? '' : ` holders=${key.holders.join(',')}`,
    key.expiresAt === null ? '' : ` expires=${key.expiresAt}`,
    key.replacedBy === null ? '' : ` replaced-by=${key.replacedBy}`,
  ].join('');
  return `${key.id} ${key.status.padEnd(7)} ${key.name} scopes=${key.scopes.join(',')}${restrictions}`;
}
