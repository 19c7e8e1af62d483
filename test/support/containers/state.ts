/**
 * What one run of the containers tier started, kept from its globalSetup to its globalTeardown
 * (Jest runs both in its main process, so a global carries it), and how it is all removed: every
 * container (killed, then removed with its anonymous volumes), then the network, then the file of
 * settings. Removal goes on past a failure, so that one stuck container leaves nothing else behind.
 */
import fs from 'node:fs';
import type { StartedNetwork, StartedTestContainer } from 'testcontainers';

export interface ContainersRun {
  run: string;
  containers: StartedTestContainer[];
  network: StartedNetwork | null;
  envFile?: string;
}

const KEY = Symbol.for('ledger-bridge.containers-run');

export function setRun(run: ContainersRun): void {
  (globalThis as Record<symbol, unknown>)[KEY] = run;
}

export function getRun(): ContainersRun | undefined {
  return (globalThis as Record<symbol, unknown>)[KEY] as ContainersRun | undefined;
}

export async function stopRun(run: ContainersRun, say: (message: string) => void): Promise<void> {
  const startedMs = Date.now();
  const stops = await Promise.allSettled(
    run.containers.map((container) => container.stop({ timeout: 0, removeVolumes: true })),
  );
  let failures = 0;
  stops.forEach((stop, i) => {
    if (stop.status === 'fulfilled') return;
    failures += 1;
    say(`could not remove ${run.containers[i]?.getName()}: ${String(stop.reason)}`);
  });
  run.containers = [];
  if (run.network !== null) {
    await run.network.stop().catch((error: unknown) => {
      failures += 1;
      say(`could not remove network ${run.network?.getName()}: ${String(error)}`);
    });
    run.network = null;
  }
  if (run.envFile !== undefined) fs.rmSync(run.envFile, { force: true });
  say(`removed run ${run.run}'s containers and network in ${Date.now() - startedMs} ms`);
  if (failures > 0) throw new Error(`${failures} containers or networks could not be removed`);
}
