/**
 * Jest set-up of the containers tier, before every test file and before ledger-env.ts: the
 * services' settings that global-setup.ts wrote. The settings' defaults point at the local
 * stack, so a missing file or key is a failure: no test of this tier may fall back to it.
 */
import fs from 'node:fs';

const REQUIRED = [
  'DATABASE_URL',
  'DATABASE_DIRECT_URL',
  'DATABASE_REPLICA_URLS',
  'DATABASE_REPLICA_URL',
  'REDIS_URL',
  'KAFKA_BROKERS',
  'AMQP_URL',
  'AMQP_CDC_EXCHANGE',
  'TB_ADDRESSES',
  'TB_CLUSTER_ID',
  'LB_URL',
];

const file = process.env.LEDGER_CONTAINERS_ENV_FILE;
if (file === undefined || !fs.existsSync(file)) {
  throw new Error(
    `the containers tier's settings are missing (${file}): run npm run test:containers`,
  );
}
const env = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
const missing = REQUIRED.filter((name) => typeof env[name] !== 'string' || env[name] === '');
if (missing.length > 0) throw new Error(`${file}: no ${missing.join(', ')}`);
Object.assign(process.env, env);
