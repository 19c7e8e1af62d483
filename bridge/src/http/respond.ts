/** Writing JSON answers and error answers on a plain node:http response. */
import type http from 'node:http';
import type { Logger } from '../../../core/logger';
import { toErrorAnswer } from './error-mapping';

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendJsonText(res, status, JSON.stringify(body), headers);
}

/** A JSON answer whose text the caller made (it must be JSON: nothing here checks it). */
export function sendJsonText(
  res: http.ServerResponse,
  status: number,
  payload: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

export function sendError(
  res: http.ServerResponse,
  error: unknown,
  log: Logger,
  where: { method?: string; path: string },
): void {
  const answer = toErrorAnswer(error);
  if (answer.unexpected) log.error({ err: error, ...where }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, answer.status, answer.body, answer.headers);
}
