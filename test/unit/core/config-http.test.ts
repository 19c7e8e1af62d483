/**
 * Proves the listener's connection limits are settings with the documented defaults, read from
 * the environment into the server's options (bridge/src/http/connection.ts), and that a headers
 * timeout above the request timeout is refused at load with its reason (Node would throw later).
 */
import { ConfigError, loadConfig } from '../../../core/config';
import { connectionLimitsOf, serverOptions } from '../../../bridge/src/http/connection';

it('defaults to the documented limits', () => {
  expect(connectionLimitsOf(loadConfig({}))).toEqual({
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    keepAliveTimeoutMs: 65_000,
    connectionsMax: 1_024,
    headerBytesMax: 16_384,
  });
});

it('reads each limit from the environment into the server options', () => {
  const config = loadConfig({
    HTTP_HEADERS_TIMEOUT_MS: '300',
    HTTP_REQUEST_TIMEOUT_MS: '600',
    HTTP_KEEP_ALIVE_TIMEOUT_MS: '400',
    HTTP_MAX_CONNECTIONS: '7',
    HTTP_MAX_HEADER_BYTES: '2048',
  });
  expect(serverOptions(connectionLimitsOf(config))).toEqual({
    headersTimeout: 300,
    requestTimeout: 600,
    keepAliveTimeout: 400,
    maxHeaderSize: 2048,
    // Checked four times per headers timeout, so a timeout fires at most a quarter late.
    connectionsCheckingInterval: 75,
  });
  expect(connectionLimitsOf(config).connectionsMax).toBe(7);
  // Never checked less often than once a second (Node's default is every 30 s).
  expect(serverOptions(connectionLimitsOf(loadConfig({}))).connectionsCheckingInterval).toBe(1_000);
});

it('refuses a headers timeout above the request timeout, saying why', () => {
  const load = () =>
    loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' });
  expect(load).toThrow(ConfigError);
  expect(load).toThrow(/HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS/);
  expect(() => loadConfig({ HTTP_MAX_CONNECTIONS: '0' })).toThrow(/HTTP_MAX_CONNECTIONS/);
});
