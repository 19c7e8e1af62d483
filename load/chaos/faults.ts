/**
 * The faults a chaos run injects, one at a time, in this order. Each one breaks one part of the
 * running system, holds the break for `holdMs` while the load goes on, then brings the part back
 * (`recover` resolves once it answers again: that instant is the part's return, from which the
 * report times the recovery of the clients' rate).
 *
 * `smoke` marks the faults CI's smoke run injects: one of each kind of process (a bridge, the
 * worker, a replica, a service of the stack) in about three minutes.
 */
import type { Fleet } from './fleet';
import {
  endPartition,
  killReplica,
  type Partitioned,
  partitionReplica,
  replicaLogOffset,
  stackCommand,
  startReplicas,
  waitCaughtUp,
} from './stack-control';

export interface Fault {
  id: string;
  /** What the fault does, for the report. */
  title: string;
  smoke: boolean;
  /** How long the part stays broken before `recover` (ms). */
  holdMs: number;
  inject(fleet: Fleet): Promise<void>;
  recover(fleet: Fleet): Promise<void>;
}

/**
 * Starts the replicas that are down and waits until each has caught up: the next fault may take
 * another one. `beforeStart` runs first (ending a partition's process), after the replicas' log
 * offsets are taken, so no line of the restart is missed.
 */
async function restartCaughtUp(
  replicas: number[],
  fleet: Fleet,
  beforeStart: () => Promise<void> = async () => {},
): Promise<void> {
  const offsets = replicas.map(replicaLogOffset);
  await beforeStart();
  await startReplicas();
  // The load keeps the cluster preparing; the probe only needs to wait for the next tick.
  const traffic = () => fetch(`${fleet.baseUrl}/health`).then((r) => r.arrayBuffer());
  for (const [i, replica] of replicas.entries()) {
    await waitCaughtUp(replica, offsets[i]!, traffic);
  }
}

function serviceRestart(id: string, service: string, title: string, smoke = false): Fault {
  return {
    id,
    title,
    smoke,
    holdMs: 0,
    inject: () => stackCommand(['stop', service]),
    recover: () => stackCommand(['start', service]),
  };
}

function serviceOutage(id: string, service: string, title: string, smoke = false): Fault {
  return { ...serviceRestart(id, service, title, smoke), holdMs: 10_000 };
}

/** One replica cut off from the others and from clients for 10 s (stack-control.ts says how). */
function replicaPartition(replica: number): Fault {
  let partitioned: Partitioned | null = null;
  return {
    id: 'replica-partition',
    title:
      `TigerBeetle replica ${replica} partitioned from the others and from clients (moved into ` +
      'a network namespace of its own) for 10 s, then back on the host',
    smoke: false,
    holdMs: 10_000,
    inject: async () => {
      partitioned = await partitionReplica(replica);
    },
    recover: (fleet) =>
      restartCaughtUp([replica], fleet, async () => {
        if (partitioned !== null) await endPartition(partitioned);
        partitioned = null;
      }),
  };
}

export const FAULTS: readonly Fault[] = [
  {
    id: 'bridge-kill',
    title: 'kill -9 of bridge instance A (nginx sends its traffic to B), restarted after 5 s',
    smoke: true,
    holdMs: 5_000,
    inject: (fleet) => fleet.kill('bridge-a'),
    recover: (fleet) => fleet.start('bridge-a'),
  },
  {
    id: 'worker-kill',
    title: 'kill -9 of the projection worker, restarted after 5 s',
    smoke: true,
    holdMs: 5_000,
    inject: (fleet) => fleet.kill('projections'),
    recover: (fleet) => fleet.start('projections'),
  },
  {
    id: 'replica-kill',
    title: 'kill -9 of TigerBeetle replica 2, restarted after 10 s',
    smoke: true,
    holdMs: 10_000,
    inject: () => killReplica(2),
    recover: (fleet) => restartCaughtUp([2], fleet),
  },
  {
    id: 'quorum-loss',
    title: 'TigerBeetle replicas 1 and 2 killed together (no quorum), restarted after 8 s',
    smoke: false,
    holdMs: 8_000,
    inject: async () => {
      await Promise.all([killReplica(1), killReplica(2)]);
    },
    recover: (fleet) => restartCaughtUp([1, 2], fleet),
  },
  serviceRestart('kafka-restart', 'kafka', 'a restart of the Kafka broker'),
  serviceOutage('redis-stop', 'redis', 'Redis stopped for 10 s', true),
  serviceOutage('pg-replica-stop', 'replica', 'the PostgreSQL streaming replica stopped for 10 s'),
  serviceRestart('pgbouncer-restart', 'pgbouncer', 'a restart of PgBouncer'),
  serviceRestart('pg-primary-restart', 'postgres', 'a restart of the PostgreSQL primary'),
  {
    id: 'changefeed-kill',
    title:
      'kill -9 of the CDC job (`tigerbeetle amqp`: its supervisor starts it again) and of the ' +
      'change relay, restarted after 5 s',
    smoke: false,
    holdMs: 5_000,
    inject: async (fleet) => {
      await stackCommand(['kill', 'cdc']);
      await fleet.kill('relay');
    },
    recover: async (fleet) => {
      await fleet.start('relay');
      await stackCommand(['start', 'cdc']);
    },
  },
  replicaPartition(0),
];
