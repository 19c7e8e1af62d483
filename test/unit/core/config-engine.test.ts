/**
 * Proves the engine server's client settings are checked at load: ENGINE_ADDRESS without
 * ENGINE_SECRET is refused (the server would refuse every connection), a secret under 32
 * characters is refused, and neither message repeats the secret; with a TigerBeetle cluster
 * configured ENGINE_ADDRESS is not used, so no secret is needed.
 */
import { ConfigError, loadConfig } from '../../../core/config';

const ADDRESS = '127.0.0.1:3100';
const SECRET = 'k'.repeat(32);

function refusal(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('loadConfig accepted the settings');
}

it('takes an address with a secret of 32 characters or more', () => {
  const config = loadConfig({ ENGINE_ADDRESS: ADDRESS, ENGINE_SECRET: SECRET });
  expect(config.ENGINE_SECRET).toBe(SECRET);
});

it('refuses an address without a secret, saying which setting', () => {
  expect(refusal({ ENGINE_ADDRESS: ADDRESS })).toMatch(/ENGINE_SECRET: must be set/);
});

it('refuses a short secret without repeating it', () => {
  const short = 'shortsecret'.repeat(2);
  const message = refusal({ ENGINE_ADDRESS: ADDRESS, ENGINE_SECRET: short });
  expect(message).toMatch(/ENGINE_SECRET: must be at least 32 characters/);
  expect(message).not.toContain(short);
});

it('needs no secret when a TigerBeetle cluster is the ledger', () => {
  const config = loadConfig({ ENGINE_ADDRESS: ADDRESS, TB_ADDRESSES: '127.0.0.1:3001' });
  expect(config.ENGINE_SECRET).toBeUndefined();
});
