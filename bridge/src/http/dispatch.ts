/**
 * The request listener every route runs behind: judges the request target (./target.ts), finds
 * the route, and answers what no route answers, all in the API's JSON error shape:
 * - an HTTP/1.1 request without exactly one Host header: 400 `missing_host` (the listener leaves
 *   this check to us: Node's own answer has no body);
 * - an `Expect` other than 100-continue: 417 `expectation_failed` (`refuseExpectation`, the
 *   listener's 'checkExpectation' handler);
 * - no route has the path: 404 `route_not_found`;
 * - a route has the path but not the method: 405 `method_not_allowed` with `Allow`;
 * - HEAD is GET without the body (Node drops the body of an answer to HEAD);
 * - a path parameter that is not storable text: 400 `invalid_text` naming the parameter;
 * - a route that declares a scope runs only after `authorize` accepts the request (API keys,
 *   ../access): its refusals are answered like the others, with the body left unread.
 * Which routes exist is the composition root's business (../api.ts); this room knows no feature.
 */
import type http from 'node:http';
import type { Logger } from '../../../core/logger';
import { edgeError } from './edge-errors';
import { sendError, sendJson } from './respond';
import type { RouteMatch, Router } from './router';
import { checkParams, parseRequestTarget, type RequestTarget } from './target';

export interface HttpApp {
  router: Router;
  /** Told of every request before it is handled, with its route pattern (null: no route). */
  observe?: (
    res: http.ServerResponse,
    pattern: string | null,
    method: string,
    path: string,
  ) => void;
  /**
   * Judges a request for a route that needs `scope`: returns (nothing to wait for) or resolves
   * when the route may run; throws or rejects with the refusal. Absent: every route is open (a
   * router used on its own, in tests of this room).
   */
  authorize?: (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    scope: string,
  ) => void | Promise<void>;
  log: Logger;
}

export function createHandler(app: HttpApp): http.RequestListener {
  return (req, res) => {
    const method = req.method ?? 'GET';
    let target: RequestTarget;
    try {
      if (!hostOk(req)) throw edgeError('missing_host', { field: 'host' });
      target = parseRequestTarget(req.url ?? '/');
    } catch (error) {
      app.observe?.(res, null, method, req.url ?? '/');
      refuse(req, res, error, app.log);
      return;
    }
    req.url = target.url;
    const path = target.path;
    const route = app.router.match(method === 'HEAD' ? 'GET' : method, path);
    app.observe?.(res, route?.pattern ?? null, method, path);
    try {
      if (route === null) throw unrouted(app.router, method, path);
      checkParams(route.names, route.params);
    } catch (error) {
      refuse(req, res, error, app.log);
      return;
    }
    if (route.access === 'public' || app.authorize === undefined) {
      runRoute(app, route, req, res, path);
      return;
    }
    let checked: void | Promise<void>;
    try {
      checked = app.authorize(req, res, route.access.scope);
    } catch (error) {
      refuse(req, res, error, app.log);
      return;
    }
    if (checked === undefined) runRoute(app, route, req, res, path);
    else {
      checked.then(
        () => runRoute(app, route, req, res, path),
        (error: unknown) => refuse(req, res, error, app.log),
      );
    }
  };
}

/**
 * Runs the route; its failure is answered in the API's shape. A function of its own, not closures
 * made per request: under tsx every named closure is also given its name, at a cost per request.
 */
function runRoute(
  app: HttpApp,
  route: RouteMatch,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
): void {
  let running: Promise<void>;
  try {
    running = route.handler({ req, res, params: route.params, path });
  } catch (error) {
    running = Promise.reject(error);
  }
  running.catch((error: unknown) => {
    sendError(res, error, app.log, { method: req.method ?? 'GET', path });
  });
}

/** HTTP/1.1 requires exactly one Host header (RFC 9112 §3.2); HTTP/1.0 may omit it. */
function hostOk(req: http.IncomingMessage): boolean {
  if (req.httpVersion !== '1.1') return true;
  let hosts = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.length === 4 && req.rawHeaders[i]!.toLowerCase() === 'host') hosts++;
  }
  return hosts === 1;
}

/** The listener's 'checkExpectation' handler: an expectation other than 100-continue. */
export function refuseExpectation(req: http.IncomingMessage, res: http.ServerResponse): void {
  req.resume();
  const error = edgeError('expectation_failed', { field: 'expect' });
  sendJson(res, error.httpStatus, error.body(), error.headers());
}

/** 405 when another method has the path, else 404. */
function unrouted(router: Router, method: string, path: string): Error {
  const methods = router.methodsOf(path);
  if (methods.length === 0) {
    return edgeError('route_not_found', { field: 'path' }, `no route for ${method} ${path}`);
  }
  if (methods.includes('GET')) methods.push('HEAD');
  const allow = methods.join(', ');
  return edgeError(
    'method_not_allowed',
    { field: 'method', allow: methods },
    `${path} takes ${allow}, not ${method}`,
    { allow },
  );
}

/** Answers a refusal made before any route ran; the body, unread, is discarded. */
function refuse(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  error: unknown,
  log: Logger,
): void {
  req.resume();
  sendError(res, error, log, { method: req.method, path: req.url ?? '/' });
}
