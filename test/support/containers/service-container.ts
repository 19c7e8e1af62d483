/**
 * What the containers tier adds to testcontainers' GenericContainer: ports published on 127.0.0.1
 * only (testcontainers publishes on every address), Docker's `--init`, and the names and labels
 * that let the tier, and its shell wrapper after a crash, find and remove every container of one
 * run. The images are built locally first (infra/containers/build-image.sh): testcontainers pulls
 * only an image that is missing, and no registry is reachable from this machine.
 */
import { GenericContainer } from 'testcontainers';

/** Every container and network of the tier carries this prefix, then the run id. */
export const NAME_PREFIX = 'ledger-bridge-tc';
/** The label the wrapper's sweep filters on (infra/containers/test-containers.sh). */
export const RUN_LABEL = 'org.ledger-bridge.containers-run';

/** The tag build-image.sh gives each image. */
export const IMAGES = {
  postgres: 'ledger-bridge/postgres:15',
  pgbouncer: 'ledger-bridge/pgbouncer:1.18',
  redis: 'ledger-bridge/redis:7.0',
  rabbitmq: 'ledger-bridge/rabbitmq:3.10',
  kafka: 'ledger-bridge/kafka:3.9.1',
  tigerbeetle: 'ledger-bridge/tigerbeetle:0.17.9',
} as const;

/** Lines of each container's output kept for a failure's report (a failed start is removed). */
const LOG_TAIL_LINES = 30;
const logTails = new Map<string, string[]>();

/** The last lines each container of this process wrote, by container name. */
export function containerLogTails(): ReadonlyMap<string, readonly string[]> {
  return logTails;
}

export class ServiceContainer extends GenericContainer {
  constructor(image: string, run: string, service: string) {
    super(image);
    const name = `${NAME_PREFIX}-${run}-${service}`;
    const tail: string[] = [];
    logTails.set(name, tail);
    this.withName(name)
      .withLabels({ [RUN_LABEL]: run })
      .withLogConsumer((stream) => {
        stream.on('data', (chunk: Buffer | string) => {
          tail.push(
            ...String(chunk)
              .split('\n')
              .filter((line) => line.trim() !== ''),
          );
          tail.splice(0, Math.max(0, tail.length - LOG_TAIL_LINES));
        });
        stream.on('error', () => undefined);
      });
  }

  /** Publishes each container port on 127.0.0.1 only, on a free port the engine picks. */
  withLoopbackPorts(...ports: number[]): this {
    this.withExposedPorts(...ports);
    const bindings = this.hostConfig.PortBindings as Record<string, unknown>;
    for (const port of ports) bindings[`${port}/tcp`] = [{ HostIp: '127.0.0.1', HostPort: '0' }];
    return this;
  }

  /** Docker's `--init` (tini as pid 1), as the compose file's TigerBeetle services run. */
  withInit(): this {
    this.hostConfig.Init = true;
    return this;
  }

  /** The engine starts the process again whenever it exits with a failure. */
  withRestartOnFailure(): this {
    this.hostConfig.RestartPolicy = { Name: 'on-failure' };
    return this;
  }
}
