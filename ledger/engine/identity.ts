/**
 * The engine's identity: a random u128 (32 hex digits) made when a data directory is first
 * opened and kept beside its log. It is to the engine's change feed what the cluster id is to
 * TigerBeetle's CDC job: it names the feed's progress and locker queues in RabbitMQ
 * (changefeed/engine-feed.ts), so two engines, or one whose data was wiped, never resume from
 * each other's progress. Not part of the state machine: nothing in the ledger depends on it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const ID_FILE = 'engine.id';
const ID_PATTERN = /^[0-9a-f]{32}$/;

/** Reads the directory's id, making it (durably) on first use. The caller holds the lock. */
export function engineIdentity(dataDir: string, fsync: boolean): string {
  const file = path.join(dataDir, ID_FILE);
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    if (!ID_PATTERN.test(text)) throw new Error(`${file}: not an engine id (32 hex digits)`);
    return text;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const id = crypto.randomBytes(16).toString('hex');
  const temporary = `${file}.tmp`;
  const fd = fs.openSync(temporary, 'w');
  try {
    fs.writeSync(fd, `${id}\n`);
    if (fsync) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporary, file);
  if (fsync) {
    const dir = fs.openSync(dataDir, 'r');
    try {
      fs.fsyncSync(dir);
    } finally {
      fs.closeSync(dir);
    }
  }
  return id;
}
