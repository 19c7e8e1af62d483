import type pg from 'pg';
import { loadConfig } from './config';
import { createDirectPool } from './postgres/pool';

/**
 * Where the operator commands read their environment and write their lines: the process by
 * default, captured buffers in tests.
 */
export interface CliIo {
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
  err: (line: string) => void;
}

export const PROCESS_IO: CliIo = {
  env: process.env,
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

/** Runs `work` with one direct connection to the primary (DATABASE_DIRECT_URL), then closes it. */
export async function withDirectPool<T>(
  io: CliIo,
  applicationName: string,
  work: (pool: pg.Pool) => Promise<T>,
): Promise<T> {
  const config = loadConfig(io.env);
  const pool = createDirectPool({ url: config.DATABASE_DIRECT_URL, max: 1, applicationName });
  try {
    return await work(pool);
  } finally {
    await pool.end();
  }
}
