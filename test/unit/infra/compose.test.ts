// Proves docker-compose.production.yml is a valid Compose file (checked by `docker compose config`
// where the Compose plugin exists, and always by compose-go, the loader docker compose uses, built
// by infra/setup.sh) and that the resolved topology is the production one: 3 TigerBeetle replicas
// reached directly by every bridge, nginx in front of the bridge only, healthchecks throughout.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..', '..');
const COMPOSE_FILE = join(ROOT, 'docker-compose.production.yml');
const COMPOSE_CHECK = join(ROOT, '.tools', 'compose-check');
const COMMAND_TIMEOUT_MS = 30_000;
const TB_CLUSTER_ID = '170141183460469231731687303715884105727';
const REQUIRED_ENV = {
  TB_CLUSTER_ID,
  KAFKA_CLUSTER_ID: 'MkU3OEVBNTcwNTJENDM2Qk',
  POSTGRES_PASSWORD: 'test-superuser',
  LEDGER_DB_PASSWORD: 'test-ledger',
  REPLICATION_PASSWORD: 'test-replication',
  GRAFANA_ADMIN_PASSWORD: 'test-grafana',
  RABBITMQ_PASSWORD: 'test-rabbitmq',
  MONITOR_KEY_FILE: '/run/test/monitor_key',
};
const TB_ADDRESSES = ['172.28.0.11:3001', '172.28.0.12:3002', '172.28.0.13:3003'];

interface Service {
  image?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | null>;
  healthcheck?: { test?: string[]; disable?: boolean };
  networks?: Record<string, { ipv4_address?: string } | null>;
  volumes?: { type: string; source: string; target: string }[];
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  depends_on?: Record<string, { condition: string; restart?: boolean; required?: boolean }>;
  secrets?: { source: string; target: string }[];
}

function run(command: string, args: string[], env: Record<string, string> = REQUIRED_ENV) {
  return spawnSync(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: COMMAND_TIMEOUT_MS,
  });
}

/** Compose itself: infra/containers/compose.sh builds it into the machine cache; else a plugin. */
function composeCommand(): string[] | null {
  const cache = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  const built = join(cache, 'ledger-bridge', 'compose-v5.6.0', 'docker-compose');
  if (existsSync(built)) return [built];
  return run('docker', ['compose', 'version']).status === 0 ? ['docker', 'compose'] : null;
}

function loadProject(): { services: Record<string, Service> } {
  const result = run(COMPOSE_CHECK, ['-json', COMPOSE_FILE]);
  if (result.status !== 0) throw new Error(`compose-check failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as { services: Record<string, Service> };
}

describe('docker-compose.production.yml', () => {
  beforeAll(() => {
    if (!existsSync(COMPOSE_CHECK)) {
      throw new Error(`${COMPOSE_CHECK} is missing: run 'bash infra/setup.sh' (npm run setup)`);
    }
  });

  test('is valid for docker compose, with the 2-core override too, when Compose is here', () => {
    const compose = composeCommand();
    if (compose === null) {
      // Visible on purpose: Compose is built by `npm run compose:up`, not by set-up.
      console.warn(
        'Compose is not built here (npm run compose:up builds it): validation relies on ' +
          'compose-go (.tools/compose-check), the loader Compose itself uses.',
      );
      return;
    }
    const [command, ...args] = compose;
    const override = join(ROOT, 'infra', 'containers', 'compose.machine.yml');
    for (const files of [
      ['-f', COMPOSE_FILE],
      ['-f', COMPOSE_FILE, '-f', override],
    ]) {
      const result = run(command!, [...args, ...files, 'config', '-q']);
      expect({ files, status: result.status, stderr: result.stderr }).toEqual({
        files,
        status: 0,
        stderr: '',
      });
    }
  });

  test('loads with compose-go (schema, interpolation, anchors)', () => {
    const result = run(COMPOSE_CHECK, [COMPOSE_FILE]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^valid: project "ledger-bridge", 21 services$/m);
    expect(result.status).toBe(0);
  });

  test('refuses to load without the secrets and cluster ids it requires', () => {
    const result = run(COMPOSE_CHECK, [COMPOSE_FILE], {
      ...REQUIRED_ENV,
      TB_CLUSTER_ID: '',
      LEDGER_DB_PASSWORD: '',
      MONITOR_KEY_FILE: '',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/required variable TB_CLUSTER_ID is missing a value/);
    expect(result.stderr).toMatch(/required variable LEDGER_DB_PASSWORD is missing a value/);
    expect(result.stderr).toMatch(/required variable MONITOR_KEY_FILE is missing a value/);
  });

  describe('topology', () => {
    let services: Record<string, Service>;
    beforeAll(() => {
      services = loadProject().services;
    });

    test('has every production service', () => {
      expect(Object.keys(services).sort()).toEqual(
        [
          'bridge-1',
          'bridge-2',
          'bridge-3',
          'grafana',
          'kafka-1',
          'kafka-2',
          'kafka-3',
          'nginx',
          'pgbouncer',
          'postgres-primary',
          'postgres-replica-1',
          'postgres-replica-2',
          'projections',
          'prometheus',
          'rabbitmq',
          'redis',
          'relay',
          'tigerbeetle-0',
          'tigerbeetle-1',
          'tigerbeetle-2',
          'tigerbeetle-cdc',
        ].sort(),
      );
    });

    test.each([0, 1, 2])('tigerbeetle-%i formats once, then starts with all addresses', (i) => {
      const replica = services[`tigerbeetle-${i}`]!;
      const script = (replica.command ?? []).join(' ');
      expect(script).toContain(
        `format --cluster=${TB_CLUSTER_ID} --replica=${i} --replica-count=3 `,
      );
      expect(script).toMatch(/if \[ ! -f \/data\/replica-\d\.tigerbeetle \]/);
      // TB_START_FLAGS: extra flags from the replica's environment (the 2-core override's cache size).
      expect(script).toContain(
        `exec /tigerbeetle start \${TB_START_FLAGS:-} --addresses=${TB_ADDRESSES.join(',')} `,
      );
      expect(replica.networks?.ledger?.ipv4_address).toBe(TB_ADDRESSES[i]!.split(':')[0]);
      expect(replica.volumes).toEqual([
        expect.objectContaining({ type: 'volume', source: `tigerbeetle-${i}`, target: '/data' }),
      ]);
    });

    test('every bridge and projection worker lists all three replicas in replica order', () => {
      const clients = ['bridge-1', 'bridge-2', 'bridge-3', 'projections'];
      for (const name of clients) {
        expect({ name, TB_ADDRESSES: services[name]!.environment?.TB_ADDRESSES }).toEqual({
          name,
          TB_ADDRESSES: TB_ADDRESSES.join(','),
        });
      }
      const bridgeCommands = ['bridge-1', 'bridge-2', 'bridge-3'].map((name) =>
        services[name]!.command?.join(' '),
      );
      expect(bridgeCommands).toEqual(Array(3).fill('npx tsx bridge/src/main.ts'));
      // nginx reaches them over the compose network: the bridge's own default is 127.0.0.1.
      for (const name of ['bridge-1', 'bridge-2', 'bridge-3']) {
        const env = services[name]!.environment;
        expect({ name, host: env?.HOST, producer: env?.KAFKA_PRODUCER }).toEqual({
          name,
          host: '0.0.0.0',
          producer: 'librdkafka',
        });
      }
      expect(services.projections!.command?.join(' ')).toBe('npx tsx projections/src/main.ts');
    });

    test("every bridge's monitor reads the projection workers' metrics (reconciliation SLO)", () => {
      const worker = services.projections!.environment!;
      const url = `http://projections:${worker.PROJECTIONS_METRICS_PORT}/metrics`;
      expect(worker.PROJECTIONS_METRICS_HOST).toBe('0.0.0.0');
      for (const name of ['bridge-1', 'bridge-2', 'bridge-3']) {
        const env = services[name]!.environment!;
        expect({ name, urls: env.MONITOR_WORKER_METRICS_URLS }).toEqual({ name, urls: url });
      }
    });

    test('the change feed: one supervised CDC job on every replica, RabbitMQ, relays', () => {
      const cdc = services['tigerbeetle-cdc']!;
      const script = (cdc.command ?? []).join(' ');
      expect(script).toContain(
        `exec /tigerbeetle amqp --addresses=${TB_ADDRESSES.join(',')} --cluster=${TB_CLUSTER_ID} `,
      );
      const rabbitmqIp = services.rabbitmq!.networks?.ledger?.ipv4_address;
      expect(rabbitmqIp).toBe('172.28.0.20');
      expect(script).toContain(`--host=${rabbitmqIp}:5672 --vhost=ledger --user=ledger`);
      expect(script).toContain('--publish-exchange=ledger.cdc --idle-interval-ms=50');
      expect((cdc as { restart?: string }).restart).toBe('always');
      expect(cdc.depends_on?.relay?.condition).toBe('service_healthy');
      const relay = services.relay!;
      expect(relay.command?.join(' ')).toBe('npx tsx changefeed/main.ts');
      expect(relay.environment).toMatchObject({
        AMQP_URL: 'amqp://ledger:test-rabbitmq@rabbitmq:5672/ledger',
        RELAY_METRICS_HOST: '0.0.0.0',
        RELAY_METRICS_PORT: '9466',
      });
    });

    test('nginx balances the bridge instances only, never TigerBeetle', () => {
      const mount = services.nginx!.volumes?.find((v) => v.target === '/etc/nginx/nginx.conf');
      expect(mount?.source).toBe(join(ROOT, 'infra', 'nginx', 'production.conf'));
      const conf = readFileSync(mount!.source, 'utf8').replace(/#.*$/gm, '');
      const upstreams = [...conf.matchAll(/upstream\s+(\S+)\s*\{([^}]*)\}/g)].map((m) => ({
        name: m[1],
        servers: [...m[2]!.matchAll(/^\s*server\s+([^\s;]+)/gm)].map((s) => s[1]),
      }));
      expect(upstreams).toEqual([
        { name: 'bridge', servers: ['bridge-1:3000', 'bridge-2:3000', 'bridge-3:3000'] },
      ]);
      const proxied = [...conf.matchAll(/proxy_pass\s+([^;]+);/g)].map((m) => m[1]);
      expect(proxied.length).toBeGreaterThan(0);
      expect([...new Set(proxied)]).toEqual(['http://bridge']);
      expect(conf).not.toMatch(/tigerbeetle|172\.28\.0\.1[123]|:300[123]\b/i);
    });

    test("Prometheus scrapes the bridges with the monitor_key secret's bearer key", () => {
      expect(services.prometheus!.secrets).toEqual([
        { source: 'monitor_key', target: '/run/secrets/monitor_key' },
      ]);
      const scrape = readFileSync(join(ROOT, 'infra', 'prometheus', 'prometheus.yml'), 'utf8');
      const jobs = scrape.replace(/#.*$/gm, '').split(/^ {2}- job_name: /m);
      const bridge = jobs.find((job) => job.startsWith('bridge\n'));
      expect(bridge).toMatch(
        /\n {4}authorization:\n {6}type: Bearer\n {6}credentials_file: \/run\/secrets\/monitor_key\n/,
      );
      // Only the bridge asks for a key: the workers' and relays' listeners are internal.
      expect(jobs.filter((job) => job.includes('authorization:'))).toHaveLength(1);
    });

    test('PostgreSQL has a primary and two streaming replicas behind PgBouncer', () => {
      for (const name of ['postgres-replica-1', 'postgres-replica-2']) {
        expect(services[name]!.entrypoint).toEqual(['/usr/local/bin/replica-entrypoint.sh']);
        expect(services[name]!.depends_on?.['postgres-primary']?.condition).toBe('service_healthy');
      }
      expect(services['bridge-1']!.environment?.DATABASE_URL).toMatch(/@pgbouncer:6432\/ledger$/);
    });

    test('Kafka runs three KRaft nodes that need two in-sync replicas for acks=all', () => {
      const kafka = ['kafka-1', 'kafka-2', 'kafka-3'].map((name) => services[name]!.environment!);
      expect(kafka.map((env) => env.KAFKA_NODE_ID)).toEqual(['1', '2', '3']);
      for (const env of kafka) {
        expect(env).toMatchObject({
          KAFKA_PROCESS_ROLES: 'broker,controller',
          KAFKA_MIN_INSYNC_REPLICAS: '2',
          KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
        });
      }
    });

    test('every long-running service has a healthcheck', () => {
      const unchecked = Object.entries(services)
        .filter(([, service]) => !service.healthcheck?.test?.length || service.healthcheck.disable)
        .map(([name]) => name);
      expect(unchecked).toEqual([]);
    });

    test('every file it mounts exists in the repository', () => {
      const binds = Object.values(services).flatMap((service) =>
        (service.volumes ?? []).filter((volume) => volume.type === 'bind'),
      );
      expect(binds.length).toBeGreaterThan(0);
      const missing = binds.map((bind) => bind.source).filter((source) => !existsSync(source));
      expect(missing).toEqual([]);
    });

    test("every image but Grafana's is built from infra/containers/<name>/Dockerfile, FROM BASE_IMAGE", () => {
      const contexts = join(ROOT, '.run', 'images');
      const images = Object.entries(services)
        .filter(([name]) => name !== 'grafana')
        .map(([name, service]) => {
          const image = service.image ?? '';
          const folder = /^ledger-bridge\/([a-z]+):/.exec(image)?.[1] ?? '';
          return {
            name,
            image: image.replace(/:.*$/, ''),
            context: service.build?.context,
            args: service.build?.args,
            dockerfile: existsSync(join(ROOT, 'infra', 'containers', folder, 'Dockerfile')),
          };
        });
      for (const { name, image, context } of images) {
        expect({ name, image, context }).toEqual({
          name,
          image: `ledger-bridge/${context!.slice(contexts.length + 1)}`,
          context: expect.stringMatching(new RegExp(`^${contexts}/[a-z]+$`)),
        });
      }
      expect(images.filter((i) => !i.dockerfile).map((i) => i.name)).toEqual([]);
      expect(new Set(images.map((i) => JSON.stringify(i.args)))).toEqual(
        new Set([JSON.stringify({ BASE_IMAGE: 'debian:bookworm-slim' })]),
      );
      // Each Dockerfile takes the base image as its build argument, defaulting to the official one.
      for (const folder of new Set(images.map((i) => i.image.replace('ledger-bridge/', '')))) {
        const dockerfile = readFileSync(
          join(ROOT, 'infra', 'containers', folder, 'Dockerfile'),
          'utf8',
        );
        expect({ folder, from: dockerfile.match(/^(ARG BASE_IMAGE=.*|FROM .*)$/gm) }).toEqual({
          folder,
          from: ['ARG BASE_IMAGE=debian:bookworm-slim', 'FROM ${BASE_IMAGE}'],
        });
      }
    });

    test('nginx restarts when a bridge is recreated (it resolves their names once)', () => {
      for (const name of ['bridge-1', 'bridge-2', 'bridge-3']) {
        expect(services.nginx!.depends_on?.[name]).toEqual({
          condition: 'service_healthy',
          restart: true,
          required: true,
        });
      }
    });
  });
});
