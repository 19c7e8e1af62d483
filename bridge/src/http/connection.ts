/**
 * The listener's connection limits, set deliberately rather than left to Node's defaults (which
 * let a client trickle its headers for 60 s and a body for 300 s, checked only every 30 s), and
 * the answers to what Node refuses before any route sees a request (a timeout, oversized headers,
 * bytes that are not HTTP): JSON in the API's error shape, like every other answer.
 * The values and why: core/config.ts (HTTP_*); nginx in front mirrors them.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Config } from '../../../core/config';

export interface ConnectionLimits {
  /** A request's headers must have arrived this long after it began (ms). */
  headersTimeoutMs: number;
  /** The whole request, body included, must have arrived this long after it began (ms). */
  requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this (ms; Node adds 1 s of grace). */
  keepAliveTimeoutMs: number;
  /** Open connections at most; a connection past it is closed at once. */
  connectionsMax: number;
  /** Request line plus headers at most (bytes); more answers 431. */
  headerBytesMax: number;
}

export function connectionLimitsOf(config: Config): ConnectionLimits {
  return {
    headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    connectionsMax: config.HTTP_MAX_CONNECTIONS,
    headerBytesMax: config.HTTP_MAX_HEADER_BYTES,
  };
}

/**
 * Longest between two checks of the header and request timeouts (ms). Node checks every 30 s by
 * default, so a 10 s timeout could fire at 40 s.
 */
const TIMEOUT_CHECK_MS_MAX = 1_000;
/** Checks per headers timeout: a timeout fires at most a quarter of itself late. */
const TIMEOUT_CHECKS_PER_TIMEOUT = 4;

export function serverOptions(limits: ConnectionLimits): http.ServerOptions {
  const checkMs = Math.floor(limits.headersTimeoutMs / TIMEOUT_CHECKS_PER_TIMEOUT);
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    maxHeaderSize: limits.headerBytesMax,
    connectionsCheckingInterval: Math.max(1, Math.min(TIMEOUT_CHECK_MS_MAX, checkMs)),
  };
}

/** Every code the listener itself answers with, before a route runs. */
export const CONNECTION_ERRORS = {
  bad_request: { httpStatus: 400, message: 'the request is not valid HTTP/1.1' },
  request_timeout: {
    httpStatus: 408,
    message: 'the request did not arrive in time; the connection is closed',
  },
  headers_too_large: {
    httpStatus: 431,
    message: 'the request line and headers are larger than the server accepts',
  },
} as const satisfies Record<string, { httpStatus: number; message: string }>;

export type ConnectionErrorCode = keyof typeof CONNECTION_ERRORS;

/** What a parser or timeout error is answered with; null: the client left, nothing to say. */
export function connectionErrorCode(error: Error & { code?: string }): ConnectionErrorCode | null {
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'request_timeout';
    case 'HPE_HEADER_OVERFLOW':
      return 'headers_too_large';
    case 'ECONNRESET':
    case 'EPIPE':
      return null;
    default:
      return 'bad_request';
  }
}

/**
 * The server's 'clientError' listener (it replaces Node's bodiless answers). As Node does, it
 * answers only while nothing of a response has gone out on the socket (a raw answer after a
 * response began would corrupt it), and then closes the connection.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  const code = connectionErrorCode(error);
  const inFlight = (socket as { _httpMessage?: http.ServerResponse | null })._httpMessage;
  if (code === null || !socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const { httpStatus, message } = CONNECTION_ERRORS[code];
  const body = JSON.stringify({ error: { code, message } });
  const head =
    `HTTP/1.1 ${httpStatus} ${http.STATUS_CODES[httpStatus]}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n';
  socket.end(head + body, () => socket.destroy());
}
