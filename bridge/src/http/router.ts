/**
 * A small method + path router, on plain node:http. Express's router and body parser cost more
 * than the whole journal path (measured on this project's 2-core machines: express + json + zod
 * tops out near 4,100 req/s, bare node:http near 58,000), so every route of the API is matched
 * here; the account control plane's routes hand their request on to its express app. Knowing
 * every route, the router also says which methods a path takes (405 with Allow).
 */
import type http from 'node:http';

export interface RouteContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  params: string[];
  path: string;
}

export type RouteHandler = (ctx: RouteContext) => Promise<void>;

/**
 * Who may call a route, declared where the route is: a scope a caller's API key must hold, or
 * `public` (health, readiness, the contract, the dashboard's static shell). Required on every
 * route, so a new route cannot be added open by omission. The HTTP room only carries the scope
 * name; the access room (../access) judges callers against it.
 */
export type RouteAccess = { scope: string } | 'public';

interface Route {
  method: string;
  /** As registered, e.g. `/api/balance/:accountId`: the metrics' route label. */
  pattern: string;
  /** Literal segments, or null for a parameter. */
  segments: Array<string | null>;
  /** The parameters' names, in order (`accountId` for `:accountId`). */
  names: string[];
  access: RouteAccess;
  handler: RouteHandler;
}

export interface RouteMatch {
  handler: RouteHandler;
  /** Decoded, in the order of `names`. */
  params: string[];
  names: string[];
  pattern: string;
  access: RouteAccess;
}

export class Router {
  private readonly table: Route[] = [];

  /** `pattern` like `/api/journal/:id/post`. */
  on(method: string, pattern: string, access: RouteAccess, handler: RouteHandler): this {
    const parts = pattern.split('/').slice(1);
    const segments = parts.map((segment) => (segment.startsWith(':') ? null : segment));
    const names = parts.filter((segment) => segment.startsWith(':')).map((s) => s.slice(1));
    this.table.push({ method, pattern, segments, names, access, handler });
    return this;
  }

  /** Every registered route, in registration order. */
  routes(): Array<{ method: string; pattern: string; access: RouteAccess }> {
    return this.table.map(({ method, pattern, access }) => ({ method, pattern, access }));
  }

  /** The methods some route takes on this path (empty: no route has the path). */
  methodsOf(path: string): string[] {
    const methods = new Set<string>();
    for (const route of this.table) {
      if (methods.has(route.method)) continue;
      if (this.match(route.method, path) !== null) methods.add(route.method);
    }
    return [...methods];
  }

  /** The matching handler and its decoded parameters, or null. */
  match(method: string, path: string): RouteMatch | null {
    const parts = path.split('/').slice(1);
    for (const route of this.table) {
      if (route.method !== method || route.segments.length !== parts.length) continue;
      const params: string[] = [];
      let matched = true;
      for (let i = 0; i < parts.length; i++) {
        const segment = route.segments[i];
        if (segment === null) {
          const part = parts[i]!;
          if (part.length === 0) {
            matched = false;
            break;
          }
          params.push(safeDecode(part));
        } else if (segment !== parts[i]) {
          matched = false;
          break;
        }
      }
      if (matched) {
        const { handler, names, pattern, access } = route;
        return { handler, params, names, pattern, access };
      }
    }
    return null;
  }
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    // The API's handler refuses malformed escapes before routing (./target.ts); a router used
    // without it keeps them as sent, for the route's own validation to refuse.
    return part;
  }
}
