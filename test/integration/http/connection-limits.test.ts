/**
 * Proves the bridge's connection limits (HTTP_* settings, bridge/src/http/connection.ts) over
 * real sockets against a whole bridge started with small limits: headers trickled one line at a
 * time and a connection that sends nothing are cut by the headers timeout, a body trickled a byte
 * at a time by the request timeout, an idle kept-alive connection is closed silently, oversized
 * headers and bytes that are not HTTP are refused, each answered with JSON in the API's error
 * shape; connections past the maximum are closed at once and one is served again when a slot
 * frees. A request that stays within the limits is served as usual. No timing is asserted: each
 * test waits for the server to act and checks what it answered.
 */
import net from 'node:net';
import { type Harness, startHarness } from '../../support/http/harness';

/** Small limits, so each cut comes within a second. */
const LIMITS = {
  HTTP_HEADERS_TIMEOUT_MS: '300',
  HTTP_REQUEST_TIMEOUT_MS: '600',
  HTTP_KEEP_ALIVE_TIMEOUT_MS: '300',
  HTTP_MAX_HEADER_BYTES: '2048',
};
/** A second instance with room only for this many connections (and Node's default timeouts). */
const CONNECTIONS_MAX = 2;
/** Between two trickled bytes or header lines (ms): well inside every timeout above. */
const TRICKLE_MS = 50;
/** Longest a test waits for the server to act (ms): many times the limits above. */
const WAIT_MS = 15_000;

let h: Harness;
let few: Harness;

beforeAll(async () => {
  h = await startHarness(LIMITS);
  few = await startHarness({ HTTP_MAX_CONNECTIONS: String(CONNECTIONS_MAX) }, { joining: h });
}, 60_000);

afterAll(async () => {
  await few?.dispose();
  await h?.dispose();
});

interface Peer {
  socket: net.Socket;
  /** Everything the server sent, so far. */
  received(): string;
  /** Resolves once the server has closed the connection, with everything it sent. */
  closed: Promise<string>;
}

async function connect(url: string): Promise<Peer> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (data += chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(data)));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => data, closed };
}

/** Writes `parts` one every TRICKLE_MS while the socket is open; resolves with how many went. */
function trickle(socket: net.Socket, parts: string[]): Promise<number> {
  return new Promise((resolve) => {
    let sent = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || !socket.writable || sent === parts.length) {
        clearInterval(timer);
        resolve(sent);
        return;
      }
      socket.write(parts[sent++]!);
    }, TRICKLE_MS);
  });
}

interface Parsed {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Splits raw HTTP/1.1 answers (one or more) into status, headers and body. */
function parseAnswers(raw: string): Parsed[] {
  const answers: Parsed[] = [];
  let rest = raw;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) throw new Error(`not an HTTP answer: ${JSON.stringify(rest.slice(0, 80))}`);
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const headers = Object.fromEntries(
      lines.map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
      }),
    );
    const length = Number(headers['content-length'] ?? 0);
    const body = rest.slice(end + 4, end + 4 + length);
    answers.push({ status: Number(statusLine!.split(' ')[1]), headers, body });
    rest = rest.slice(end + 4 + length);
  }
  return answers;
}

function expectJsonError(answer: Parsed | undefined, status: number, code: string): void {
  expect(answer?.status).toBe(status);
  expect(answer?.headers['content-type']).toMatch(/^application\/json/);
  expect(JSON.parse(answer!.body)).toEqual({ error: { code, message: expect.any(String) } });
}

const HEALTH = 'GET /health HTTP/1.1\r\nHost: bridge\r\n\r\n';

/**
 * Opens a connection, writes `head`, then trickles `parts`; expects the server to cut it before
 * the last part with one JSON 408.
 */
async function expectCutByTimeout(head: string, parts: string[]): Promise<void> {
  const peer = await connect(h.bridge.url);
  if (head !== '') peer.socket.write(head);
  const [sent, raw] = await Promise.all([trickle(peer.socket, parts), peer.closed]);
  if (parts.length > 0) expect(sent).toBeLessThan(parts.length);
  const answers = parseAnswers(raw);
  expect(answers).toHaveLength(1);
  expectJsonError(answers[0], 408, 'request_timeout');
}

describe('timeouts', () => {
  it('cuts headers trickled one line at a time (slowloris) with a JSON 408', async () => {
    const lines = Array.from({ length: WAIT_MS / TRICKLE_MS }, (_, i) => `x-slow-${i}: 1\r\n`);
    await expectCutByTimeout('GET /health HTTP/1.1\r\nHost: bridge\r\n', lines);
  });

  it('cuts a connection that sends nothing with a JSON 408', async () => {
    await expectCutByTimeout('', []);
  });

  it('cuts a body trickled a byte at a time with a JSON 408 before the route answers', async () => {
    const body = JSON.stringify({ journalId: 'slow', padding: 'x'.repeat(200) });
    const head =
      'POST /api/journal HTTP/1.1\r\nHost: bridge\r\nContent-Type: application/json\r\n' +
      // With a key: a keyless request is refused (401) before its body is read.
      `Authorization: Bearer ${h.key}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    await expectCutByTimeout(head, [...body]);
  });

  it('closes an idle kept-alive connection after its answer, without another answer', async () => {
    const peer = await connect(h.bridge.url);
    peer.socket.write(HEALTH);
    const answers = parseAnswers(await peer.closed);
    expect(answers.map((a) => a.status)).toEqual([200]);
    expect(answers[0]!.headers.connection).toBe('keep-alive');
  });

  it('serves a request whose parts arrive slowly but within the limits', async () => {
    const peer = await connect(h.bridge.url);
    const parts = ['GET /health HTTP/1.1\r\n', 'Host: bridge\r\n', 'Connection: close\r\n\r\n'];
    await trickle(peer.socket, parts);
    const answers = parseAnswers(await peer.closed);
    expect(answers.map((a) => a.status)).toEqual([200]);
    expect(JSON.parse(answers[0]!.body)).toMatchObject({ status: 'ok' });
  });
});

describe('request size and shape', () => {
  const withHeader = (bytes: number) =>
    `GET /health HTTP/1.1\r\nHost: bridge\r\nX-Big: ${'a'.repeat(bytes)}\r\n` +
    'Connection: close\r\n\r\n';

  it('refuses headers over HTTP_MAX_HEADER_BYTES with a JSON 431, and takes them under it', async () => {
    const over = await connect(h.bridge.url);
    over.socket.write(withHeader(4_000));
    expectJsonError(parseAnswers(await over.closed)[0], 431, 'headers_too_large');

    const under = await connect(h.bridge.url);
    under.socket.write(withHeader(1_000));
    expect(parseAnswers(await under.closed).map((a) => a.status)).toEqual([200]);
  });

  it('answers bytes that are not HTTP with a JSON 400', async () => {
    const peer = await connect(h.bridge.url);
    peer.socket.write('HELLO THERE\r\n\r\n');
    expectJsonError(parseAnswers(await peer.closed)[0], 400, 'bad_request');
  });
});

describe('maximum connections', () => {
  /** A kept-alive connection that has been served once: the server counts it. */
  async function held(): Promise<Peer> {
    const peer = await connect(few.bridge.url);
    peer.socket.write(HEALTH);
    while (!peer.received().includes('"status":"ok"')) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return peer;
  }

  it('closes a connection past HTTP_MAX_CONNECTIONS at once, and serves again when one frees', async () => {
    const peers = [];
    for (let i = 0; i < CONNECTIONS_MAX; i++) peers.push(await held());
    const extra = await connect(few.bridge.url);
    extra.socket.write(HEALTH);
    expect(await extra.closed).toBe('');

    peers[0]!.socket.destroy();
    await peers[0]!.closed;
    // The server learns of the close asynchronously: until it has, a new connection is refused.
    let served = '';
    while (served === '') {
      const next = await connect(few.bridge.url);
      next.socket.end('GET /health HTTP/1.1\r\nHost: bridge\r\nConnection: close\r\n\r\n');
      served = await next.closed;
    }
    expect(parseAnswers(served).map((a) => a.status)).toEqual([200]);
    for (const peer of peers) peer.socket.destroy();
  });
});
