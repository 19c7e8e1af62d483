/**
 * An HTTP/1.1 client that sends exactly the bytes a test writes: the request target as given (no
 * dot-segment removal, no re-encoding, absolute-form allowed), any method, header and body,
 * chunked or not, or a whole request as raw bytes. fetch and node:http both correct what a
 * hostile client would not. One connection per request (`Connection: close`), read to its end.
 */
import net from 'node:net';

export interface RawRequest {
  method: string;
  target: string;
  /** Sent in this order after Host (unless `host` is null) and Connection: close. */
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body as one chunk of Transfer-Encoding: chunked instead of with Content-Length. */
  chunked?: boolean;
  /** The Host header; null sends none. */
  host?: string | null;
  /** The whole request as written, instead of building it from the fields above. */
  bytes?: string | Buffer;
}

export interface RawAnswer {
  status: number;
  /** Lower-case names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: Buffer;
  /** The body as JSON, or undefined when it is not JSON. */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** From connecting to the connection's close. */
  ms: number;
}

/** Longest a request may take before the client gives up (the suites judge 5 s themselves). */
const CLIENT_TIMEOUT_MS = 30_000;

export function requestBytes(request: RawRequest): Buffer {
  if (request.bytes !== undefined) return Buffer.from(request.bytes as string, 'latin1');
  const lines = [`${request.method} ${request.target} HTTP/1.1`];
  if (request.host !== null) lines.push(`Host: ${request.host ?? '127.0.0.1'}`);
  lines.push('Connection: close');
  for (const [name, value] of Object.entries(request.headers ?? {}))
    lines.push(`${name}: ${value}`);
  let body = request.body === undefined ? Buffer.alloc(0) : Buffer.from(request.body);
  if (request.chunked) {
    lines.push('Transfer-Encoding: chunked');
    const size = body.length === 0 ? '' : `${body.length.toString(16)}\r\n`;
    body = Buffer.concat([
      Buffer.from(size),
      body,
      Buffer.from(body.length ? '\r\n0\r\n\r\n' : '0\r\n\r\n'),
    ]);
  } else if (request.body !== undefined && !hasHeader(request, 'content-length')) {
    lines.push(`Content-Length: ${body.length}`);
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

function hasHeader(request: RawRequest, name: string): boolean {
  return Object.keys(request.headers ?? {}).some((key) => key.toLowerCase() === name);
}

export function sendRaw(base: string, request: RawRequest): Promise<RawAnswer> {
  const url = new URL(base);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    // Written, not ended: a client's half-close makes Node drop a request still being answered.
    // The server closes the connection after its answer (Connection: close).
    const socket = net.connect(Number(url.port), url.hostname, () =>
      socket.write(requestBytes(request)),
    );
    const chunks: Buffer[] = [];
    socket.setTimeout(CLIENT_TIMEOUT_MS, () => socket.destroy(new Error('no answer in time')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The server may close while the client still writes a body it refused: not the client's error.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    socket.on('close', () => {
      try {
        resolve(parseAnswer(Buffer.concat(chunks), performance.now() - started));
      } catch (error) {
        reject(error);
      }
    });
  });
}

function parseAnswer(bytes: Buffer, ms: number): RawAnswer {
  const split = bytes.indexOf('\r\n\r\n');
  if (split === -1) throw new Error(`no HTTP answer: ${JSON.stringify(bytes.toString('latin1'))}`);
  const [statusLine, ...lines] = bytes.subarray(0, split).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  let body = bytes.subarray(split + 4);
  if (headers['transfer-encoding'] === 'chunked') body = unchunk(body);
  let json: unknown;
  try {
    json = body.length === 0 ? undefined : JSON.parse(body.toString('utf8'));
  } catch {
    json = undefined;
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body, json, ms };
}

function unchunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    const size = Number.parseInt(body.subarray(at, eol).toString('latin1'), 16);
    if (!(size > 0)) return Buffer.concat(parts);
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}
