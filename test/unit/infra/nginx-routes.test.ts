/**
 * Proves what each nginx configuration (the local stack's and production's) lets through, by
 * running nginx on it in front of a stub bridge that records every request it gets: the public
 * routes (/api/…, /health, /openapi.json, /docs…) reach the bridge; every other path, however
 * spelled (dot segments, percent-encoding, absolute form), is nginx's JSON 404 and reaches
 * nothing. With the rate cut to a few requests, a client address past its burst gets the JSON
 * 429 with Retry-After while another address is still served. Production's TLS lines, switched
 * on with a throwaway certificate, serve TLS 1.3 and 1.2 with HSTS and redirect plain HTTP.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type tls from 'node:tls';
import {
  enableTls,
  freePort,
  localConfig,
  productionConfig,
  productionForHere,
  runNginx,
  type RunningNginx,
} from '../../support/infra/nginx';

const TEST_TIMEOUT_MS = 30_000;
/** The test's rate limit: one request a minute and a burst of BURST, so the 429 is certain. */
const BURST = 3;

let scratch: string;
let stub: http.Server;
let upstream: string;
const seen: string[] = [];

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'nginx-routes-'));
  stub = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"stub":true}');
  });
  await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
  upstream = `127.0.0.1:${(stub.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => stub.close(() => resolve()));
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** The config `which` on free ports, optionally with the test's tight rate limit. */
async function start(which: string, tight: boolean, name: string) {
  const dir = path.join(scratch, name);
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  let text =
    which === 'local'
      ? localConfig(dir, port, upstream)
      : productionForHere(productionConfig(), dir, { http: port, upstream });
  if (tight) {
    text = text
      .replace(/rate=\d+r\/s/, 'rate=1r/m')
      .replace(/burst=\d+ nodelay/, `burst=${BURST} nodelay`);
  }
  const running = await runNginx(text, dir, port);
  return { port, running };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(port: number, target: string, localAddress = '127.0.0.1'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: target, localAddress }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A request line sent as is (absolute form), answered with the status line. */
function rawStatusLine(port: number, requestLine: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () =>
      socket.write(`${requestLine}\r\nHost: x\r\nConnection: close\r\n\r\n`),
    );
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('end', () => resolve(text.split('\r\n')[0]!));
    socket.on('error', reject);
  });
}

const notFound = {
  error: { code: 'route_not_found', message: expect.any(String) },
};

describe.each(['local', 'production'])('the %s nginx config', (which) => {
  let nginx: RunningNginx;
  let port: number;

  beforeAll(async () => {
    ({ port, running: nginx } = await start(which, false, `${which}-routes`));
  }, TEST_TIMEOUT_MS);

  afterAll(() => nginx?.stop());

  beforeEach(() => {
    seen.length = 0;
  });

  it.each(['/api/balance/1', '/health', '/openapi.json', '/docs', '/docs/assets/docs.js'])(
    'passes %s to the bridge',
    async (target) => {
      const answer = await get(port, target);
      expect({ status: answer.status, body: answer.body }).toEqual({
        status: 200,
        body: '{"stub":true}',
      });
      expect(seen).toEqual([`GET ${target}`]);
    },
  );

  it.each([
    '/metrics',
    '/slo',
    '/dashboard',
    '/dashboard/data',
    '/ready',
    '/',
    '/api',
    '/healthz',
    '/docsx',
    '/api/../metrics',
    '/api/%2e%2e/metrics',
    '/docs/..%2fslo',
  ])('answers %s itself with the JSON 404; the bridge sees nothing', async (target) => {
    const answer = await get(port, target);
    expect(answer.status).toBe(404);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(answer.body)).toEqual(notFound);
    expect(seen).toEqual([]);
  });

  it('answers an absolute-form request for /metrics itself', async () => {
    expect(await rawStatusLine(port, 'GET http://bridge/metrics HTTP/1.1')).toBe(
      'HTTP/1.1 404 Not Found',
    );
    expect(seen).toEqual([]);
  });

  it(
    'answers a client address past its burst 429 with Retry-After; another is served',
    async () => {
      const tight = await start(which, true, `${which}-tight`);
      try {
        const answers: Answer[] = [];
        for (let i = 0; i < BURST + 3; i++) answers.push(await get(tight.port, '/health'));
        expect(answers.map((a) => a.status)).toEqual([
          ...Array<number>(BURST + 1).fill(200),
          429,
          429,
        ]);
        const refused = answers.at(-1)!;
        expect(refused.headers['retry-after']).toBe('1');
        expect(JSON.parse(refused.body)).toEqual({
          error: { code: 'client_rate_limited', message: expect.any(String) },
        });
        expect(seen.length).toBe(BURST + 1);
        expect((await get(tight.port, '/health', '127.0.0.2')).status).toBe(200);
      } finally {
        await tight.running.stop();
      }
    },
    TEST_TIMEOUT_MS,
  );
});

describe('production with its TLS lines switched on', () => {
  let nginx: RunningNginx;
  let ports: { http: number; https: number };

  beforeAll(async () => {
    const dir = path.join(scratch, 'tls');
    const secrets = path.join(dir, 'secrets');
    fs.mkdirSync(secrets, { recursive: true });
    selfSignedCertificate(secrets);
    ports = { http: await freePort(), https: await freePort() };
    const text = productionForHere(enableTls(productionConfig(), secrets), dir, {
      ...ports,
      upstream,
    });
    nginx = await runNginx(text, dir, ports.https);
  }, TEST_TIMEOUT_MS);

  afterAll(() => nginx?.stop());

  it.each<[tls.SecureVersion | undefined, string]>([
    [undefined, 'TLSv1.3'],
    ['TLSv1.2', 'TLSv1.2'],
  ])('serves the API over TLS (client max %s: %s) with HSTS', async (maxVersion, expected) => {
    const answer = await httpsGet(ports.https, '/health', maxVersion);
    expect(answer.protocol).toBe(expected);
    expect(answer.status).toBe(200);
    expect(answer.hsts).toBe('max-age=31536000');
  });

  it('redirects plain HTTP to HTTPS, keeping the method (308)', async () => {
    const answer = await get(ports.http, '/api/journal');
    expect(answer.status).toBe(308);
    expect(answer.headers.location).toBe('https://127.0.0.1/api/journal');
  });
});

function selfSignedCertificate(dir: string): void {
  const result = spawnSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost'],
      ...['-keyout', path.join(dir, 'tls_certificate_key')],
      ...['-out', path.join(dir, 'tls_certificate')],
    ],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`openssl failed: ${result.stderr}`);
}

function httpsGet(port: number, target: string, maxVersion?: tls.SecureVersion) {
  return new Promise<{ status: number; protocol: string | null; hsts: unknown }>(
    (resolve, reject) => {
      const req = https.request(
        // A throwaway self-signed certificate: what is checked is the protocol, not the chain.
        { host: '127.0.0.1', port, path: target, rejectUnauthorized: false, maxVersion },
        (res) => {
          const protocol = (res.socket as tls.TLSSocket).getProtocol();
          res.resume();
          res.on('end', () =>
            resolve({
              status: res.statusCode!,
              protocol,
              hsts: res.headers['strict-transport-security'],
            }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    },
  );
}
