/**
 * A long-running process of ours (the change relay, the projection worker) run as a child, so a
 * test can kill it as a crash would (SIGKILL) and start another: its pino log is parsed line by
 * line, each message counted (`consuming`, `projection worker running`, …), and the last lines
 * kept for a failure message.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

const ROOT = path.resolve(__dirname, '..', '..', '..');
/** Log lines kept for a failure message. */
const TAIL_LINES = 40;
const POLL_MS = 50;

export class ChildService {
  private readonly counts = new Map<string, number>();
  private readonly lastEntries = new Map<string, Record<string, unknown>>();
  private readonly lines: string[] = [];
  readonly exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    for (const stream of [child.stdout!, child.stderr!]) {
      readline.createInterface({ input: stream }).on('line', (line) => this.read(line));
    }
  }

  /** `node --import tsx <entry>` from the repository's root, with exactly `env`. */
  static start(name: string, entry: string, env: Record<string, string>): ChildService {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ChildService(name, child);
  }

  /** How many times the process logged `message` so far. */
  logged(message: string): number {
    return this.counts.get(message) ?? 0;
  }

  /** The last log entry with `message` (its fields), or null. */
  lastEntry(message: string): Record<string, unknown> | null {
    return this.lastEntries.get(message) ?? null;
  }

  /** Waits until `message` was logged more than `after` times; fails if the process exits. */
  async waitForLog(message: string, timeoutMs: number, after = 0): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.logged(message) <= after) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`${this.name} exited before logging '${message}':\n${this.tail()}`);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `${this.name} did not log '${message}' within ${timeoutMs} ms:\n${this.tail()}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs` if it outlives a SIGTERM). */
  async kill(signal: NodeJS.Signals, graceMs = 15_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  tail(): string {
    return this.lines.join('\n');
  }

  private read(line: string): void {
    this.lines.push(line);
    if (this.lines.length > TAIL_LINES) this.lines.shift();
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (typeof entry.msg !== 'string') return;
    this.counts.set(entry.msg, this.logged(entry.msg) + 1);
    this.lastEntries.set(entry.msg, entry);
  }
}

/** The environment without its unset entries (a child's `env` takes strings only). */
export function childEnv(...parts: NodeJS.ProcessEnv[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const part of parts) {
    for (const [key, value] of Object.entries(part)) {
      if (value === undefined) delete env[key];
      else env[key] = value;
    }
  }
  return env;
}
