/**
 * The HTTP layer's side of the monitor: one call per request in server.ts's handler, before the
 * route runs, which reports the answer (route pattern, method, status, latency) when the response
 * finishes. A client that hangs up before the answer is counted as 499 (nginx's "client closed
 * request"), not as a server error.
 *
 * Labels are route patterns. The lean router knows its pattern; the express control plane's
 * few routes are labelled by `controlPlaneRoute`, anything else is 'unmatched' (one series, not
 * one per path a scanner tries).
 */
import type http from 'node:http';
import type { Monitor } from './monitor';

export const CLIENT_CLOSED_STATUS = 499;

export function observeResponse(
  monitor: Pick<Monitor, 'observeHttp'>,
  res: http.ServerResponse,
  route: string,
  method: string,
  startedMs = performance.now(),
): void {
  // 'close' comes once per response: `on` spares the wrapper and the removal `once` costs.
  res.on('close', () => {
    const status = res.writableFinished ? res.statusCode : CLIENT_CLOSED_STATUS;
    monitor.observeHttp(route, method, status, performance.now() - startedMs);
  });
}

/** The express app's routes (bridge/src/accounts/routes.ts), as patterns. */
const CONTROL_PLANE_ROUTES: ReadonlyArray<readonly [string, string[]]> = [
  ['POST', ['api', 'accounts']],
  ['GET', ['api', 'accounts', ':accountId']],
];

export function controlPlaneRoute(method: string, path: string): string {
  const parts = path.split('/').slice(1);
  for (const [routeMethod, segments] of CONTROL_PLANE_ROUTES) {
    if (routeMethod !== method || segments.length !== parts.length) continue;
    const matched = segments.every(
      (segment, i) => (segment.startsWith(':') && parts[i] !== '') || segment === parts[i],
    );
    if (matched) return `/${segments.join('/')}`;
  }
  return 'unmatched';
}
