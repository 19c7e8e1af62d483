/**
 * `npm start`'s processes: the bridge API and the projection worker, side by side, as production
 * runs them (docker-compose.production.yml). SIGINT/SIGTERM stop both gracefully; if either dies
 * on its own, the other is stopped too and the exit status says so.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const PROCESSES = [
  { name: 'bridge', entry: 'bridge/src/main.ts' },
  { name: 'projections', entry: 'projections/src/main.ts' },
] as const;

const children = new Map<string, ChildProcess>();
let stopping = false;
let exitCode = 0;

function stopAll(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  for (const child of children.values()) child.kill(signal);
}

for (const { name, entry } of PROCESSES) {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    stdio: 'inherit',
    env: process.env,
  });
  children.set(name, child);
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (!stopping) {
      console.error(`${name} exited (${signal ?? code}); stopping the others`);
      exitCode = 1;
      stopAll('SIGTERM');
    } else if (code !== 0 && code !== null) {
      exitCode = code;
    }
    if (children.size === 0) process.exit(exitCode);
  });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stopAll(signal));
