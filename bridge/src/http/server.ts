/**
 * The HTTP listener: hot routes on the lean router, everything else (the account control plane)
 * on express; which routes those are is the composition root's business (../api.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../../core/logger';
import { sendError } from './respond';
import type { Router } from './router';

/**
 * What one listener serves. The HTTP room knows no feature: the composition root (../api.ts)
 * registers the features' routes on `router` and hands the rest to `fallback`.
 */
export interface HttpApp {
  /** Hot routes, matched first. */
  router: Router;
  /** Everything the router does not match (the express control plane). */
  fallback: http.RequestListener;
  /** Told of every request before it is handled, with its route pattern (null: the fallback's). */
  observe?: (
    res: http.ServerResponse,
    pattern: string | null,
    method: string,
    path: string,
  ) => void;
  log: Logger;
}

export interface HttpServer {
  url: string;
  /** Stops accepting connections and waits for requests in flight. */
  close(): Promise<void>;
}

/** While stopping, how often connections that went idle are closed. */
const IDLE_SWEEP_MS = 20;

export function createHandler(app: HttpApp): http.RequestListener {
  return (req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const method = req.method ?? 'GET';
    const route = app.router.match(method, path);
    app.observe?.(res, route?.pattern ?? null, method, path);
    if (route === null) {
      app.fallback(req, res);
      return;
    }
    route.handler({ req, res, params: route.params, path }).catch((error: unknown) => {
      sendError(res, error, app.log, { method: req.method, path });
    });
  };
}

export function listen(
  handler: http.RequestListener,
  host: string,
  port: number,
): Promise<HttpServer> {
  const server = http.createServer({ keepAliveTimeout: 65_000 }, handler);
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
