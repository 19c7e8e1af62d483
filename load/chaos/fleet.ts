/**
 * The services a chaos run hurts, as separate processes so each can be killed alone: two bridge
 * instances, the projection worker and the change relay, on the load database (emptied first) and
 * the stack's TigerBeetle cluster, with an nginx of the run's own in front of both bridges (the
 * stack's nginx serves `npm start`'s single bridge). The rest of the stack (PostgreSQL, PgBouncer,
 * Redis, Kafka, RabbitMQ, the CDC job) is the local stack's own: the faults stop and start it with
 * `infra/stack.sh`.
 *
 * `kill` is SIGKILL, as a crash; `start` brings a killed process back, as a supervisor would
 * (systemd, or Compose's `restart: always`), and resolves once it answers again.
 */
import { BRIDGE_NODE_FLAGS } from '../../core/node-flags';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { resetDisposableDatabase } from '../../core/postgres/disposable';
import { mintKey, stopProcess, waitReady } from '../bench/bridge-process';
import { type LedgerChoice } from '../bench/ledger';
import { loadStackEnv } from '../runner/stack';
import { portOpen } from '../../infra/tigerbeetle/replicas';
import { stackCommand } from './stack-control';

const ROOT = path.resolve(__dirname, '..', '..');
/** Longest a process may take to answer again after a start (ms). */
const READY_TIMEOUT_MS = 120_000;

export type FleetProcess = 'bridge-a' | 'bridge-b' | 'projections' | 'relay';

interface ProcessSpec {
  entry: string;
  /** Node flags before the entry (the bridge's, core/node-flags.ts). */
  flags?: readonly string[];
  env: NodeJS.ProcessEnv;
  /** GET it answers 200 once the process serves. */
  readyUrl: string;
}

export interface FleetOptions {
  run: string;
  /** Bridge A's port; B on +10, the worker's metrics on +2, the relay's on +3, nginx on +20. */
  port: number;
  ledger: LedgerChoice;
  /** Where the processes' logs go. */
  logDir: string;
}

export class Fleet {
  readonly env: NodeJS.ProcessEnv;
  readonly baseUrl: string;
  apiKey = '';
  private readonly specs: Record<FleetProcess, ProcessSpec>;
  private readonly children = new Map<FleetProcess, ChildProcess>();
  private readonly nginxEnv: NodeJS.ProcessEnv;

  constructor(private readonly options: FleetOptions) {
    const { port } = options;
    this.env = {
      ...loadStackEnv({
        run: options.run,
        port,
        projections: 'during',
        dataDir: path.join(options.logDir, 'engine'),
        ledger: options.ledger,
      }),
      LOG_LEVEL: 'warn',
      RELAY_METRICS_PORT: String(port + 3),
      // The worker competes with the bridges for two cores: as in load runs, it yields.
      PROJECTIONS_NICENESS: '10',
    };
    const bridge = (p: number): ProcessSpec => ({
      entry: 'bridge/src/main.ts',
      flags: BRIDGE_NODE_FLAGS,
      env: { ...this.env, PORT: String(p) },
      readyUrl: `http://127.0.0.1:${p}/ready`,
    });
    this.specs = {
      'bridge-a': bridge(port),
      'bridge-b': bridge(port + 10),
      projections: {
        entry: 'projections/src/main.ts',
        env: this.env,
        readyUrl: `http://127.0.0.1:${port + 2}/metrics`,
      },
      relay: {
        entry: 'changefeed/main.ts',
        env: this.env,
        readyUrl: `http://127.0.0.1:${port + 3}/metrics`,
      },
    };
    this.nginxEnv = {
      ...process.env,
      NGINX_DIR: path.join(ROOT, '.run', 'chaos', 'nginx'),
      NGINX_PORT: String(port + 20),
      NGINX_UPSTREAMS: `127.0.0.1:${port},127.0.0.1:${port + 10}`,
    };
    this.baseUrl = `http://127.0.0.1:${port + 20}`;
  }

  async up(): Promise<void> {
    // A process left by an earlier run would answer /ready for the new one.
    const ports = [...Object.values(this.specs).map((spec) => new URL(spec.readyUrl).port)];
    ports.push(new URL(this.baseUrl).port);
    for (const port of ports) {
      if (await portOpen(Number(port))) {
        throw new Error(`port ${port} is taken: a process of an earlier chaos run? (ss -ltnp)`);
      }
    }
    await resetDisposableDatabase(this.env.DATABASE_DIRECT_URL!);
    fs.mkdirSync(this.options.logDir, { recursive: true });
    // Bridge A first: it applies the migrations the others expect.
    await this.start('bridge-a');
    await Promise.all((['bridge-b', 'projections', 'relay'] as const).map((p) => this.start(p)));
    this.apiKey = (await mintKey(this.env.DATABASE_DIRECT_URL!, `chaos ${this.options.run}`)).text;
    await this.nginx('start');
  }

  async down(): Promise<void> {
    await this.nginx('stop').catch(() => undefined);
    await Promise.all([...this.children.values()].map(stopProcess));
    this.children.clear();
  }

  /** Starts `name` (again) and resolves once it answers. */
  async start(name: FleetProcess): Promise<void> {
    const spec = this.specs[name];
    const log = fs.openSync(path.join(this.options.logDir, `${name}.log`), 'a');
    const child = spawn(process.execPath, [...(spec.flags ?? []), '--import', 'tsx', spec.entry], {
      cwd: ROOT,
      env: spec.env,
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    this.children.set(name, child);
    await waitReady(spec.readyUrl, child, READY_TIMEOUT_MS);
  }

  /** SIGKILL, as a crash: nothing drains, nothing is flushed. */
  async kill(name: FleetProcess): Promise<void> {
    const child = this.children.get(name);
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} is not running`);
    }
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.children.delete(name);
  }

  /** The processes that died without the run killing them (a finding). */
  crashed(): FleetProcess[] {
    return [...this.children.entries()]
      .filter(([, child]) => child.exitCode !== null || child.signalCode !== null)
      .map(([name]) => name);
  }

  private nginx(command: 'start' | 'stop'): Promise<void> {
    return stackCommand([command, 'nginx'], this.nginxEnv);
  }
}
