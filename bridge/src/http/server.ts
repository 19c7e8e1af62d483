/**
 * The HTTP listener. What it serves is one request listener: the API's is built by ./dispatch.ts
 * from its router (which routes those are is the composition root's business, ../api.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerClientError, type ConnectionLimits, serverOptions } from './connection';
import { refuseExpectation } from './dispatch';

export interface HttpServer {
  url: string;
  /** Stops accepting connections and waits for requests in flight. */
  close(): Promise<void>;
}

/** While stopping, how often connections that went idle are closed. */
const IDLE_SWEEP_MS = 20;

/** Serves `handler` on host:port within `limits` (./connection.ts: the values and why). */
export function listen(
  handler: http.RequestListener,
  host: string,
  port: number,
  limits: ConnectionLimits,
): Promise<HttpServer> {
  // Host is checked by the handler (./dispatch.ts), which answers in the API's shape; Node's own
  // check answers a bare 400, as its answer to an unmet Expect is a bare 417.
  const server = http.createServer({ ...serverOptions(limits), requireHostHeader: false }, handler);
  server.maxConnections = limits.connectionsMax;
  server.on('clientError', answerClientError);
  server.on('checkExpectation', refuseExpectation);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address() as AddressInfo;
      resolve({
        url: `http://${host}:${address.port}`,
        close: () =>
          new Promise<void>((done, fail) => {
            // Keep-alive connections become idle as their last answers go out; close them as they
            // do, or server.close() would wait for the clients to hang up.
            const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
            server.close((error) => {
              clearInterval(sweep);
              if (error) fail(error);
              else done();
            });
            server.closeIdleConnections();
          }),
      });
    });
  });
}
