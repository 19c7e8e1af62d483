// Proves that an SLO breach raises one alert (a log line and one webhook POST, received here by a
// real node:http server on 127.0.0.1) however many evaluations keep seeing it, that recovery
// resolves it once, and that a webhook which never answers costs one bounded attempt, no retries.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { type AlertNotice, SloAlerter } from '../../../bridge/src/monitor/alerts';
import { Monitor } from '../../../bridge/src/monitor/monitor';
import type { SloReport, SloState } from '../../../bridge/src/monitor/slo';

interface Receiver {
  url: string;
  bodies: AlertNotice[];
  close(): Promise<void>;
}

/** A webhook receiver; `hang` keeps every request open (never answers). */
async function receiver(hang = false): Promise<Receiver> {
  const bodies: AlertNotice[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as AlertNotice);
      if (!hang) res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    bodies,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function capturingLogger() {
  const lines: Array<{ level: number; msg: string; alert?: AlertNotice }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')));
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

function report(state: SloState, at: string): SloReport {
  return {
    at,
    windowMs: { short: 60_000, long: 300_000, peak: 10_000 },
    slos: [
      {
        name: 'error_rate',
        description: '< 1% of /api answers 5xx',
        objective: '<=',
        target: 0.01,
        unit: 'ratio',
        current: state === 'breached' ? 0.2 : 0,
        state,
        burnRate: state === 'breached' ? 20 : 0,
        burnRateLong: 0,
        samples: 100,
      },
    ],
  };
}

describe('SloAlerter', () => {
  test('a breach fires once (log + webhook); recovery resolves once', async () => {
    const hook = await receiver();
    const { log, lines } = capturingLogger();
    const alerter = new SloAlerter({ log, webhookUrl: hook.url, source: 'test-bridge' });
    try {
      expect(alerter.update(report('ok', '2026-01-01T00:00:00.000Z'))).toEqual([]);
      const fired = alerter.update(report('breached', '2026-01-01T00:00:01.000Z'));
      expect(fired.map((n) => n.status)).toEqual(['firing']);
      for (let i = 2; i < 6; i++) {
        expect(alerter.update(report('breached', `2026-01-01T00:00:0${i}.000Z`))).toEqual([]);
      }
      expect(alerter.active()).toEqual(['error_rate']);
      const resolved = alerter.update(report('at_risk', '2026-01-01T00:00:07.000Z'));
      expect(resolved.map((n) => n.status)).toEqual(['resolved']);
      expect(alerter.update(report('ok', '2026-01-01T00:00:08.000Z'))).toEqual([]);
      await alerter.flush();

      expect(hook.bodies).toEqual([
        expect.objectContaining({
          status: 'firing',
          slo: 'error_rate',
          current: 0.2,
          burnRate: 20,
          startsAt: '2026-01-01T00:00:01.000Z',
          endsAt: null,
          source: 'test-bridge',
        }),
        expect.objectContaining({
          status: 'resolved',
          slo: 'error_rate',
          startsAt: '2026-01-01T00:00:01.000Z',
          endsAt: '2026-01-01T00:00:07.000Z',
        }),
      ]);
      const alertLines = lines.filter((line) => line.alert !== undefined);
      expect(alertLines.map((line) => [line.level, line.msg])).toEqual([
        [50, 'SLO breached: error_rate'],
        [30, 'SLO recovered: error_rate'],
      ]);
    } finally {
      await hook.close();
    }
  });

  test('a webhook that never answers is abandoned after the timeout, not retried', async () => {
    const hook = await receiver(true);
    const { log, lines } = capturingLogger();
    const alerter = new SloAlerter({ log, webhookUrl: hook.url, webhookTimeoutMs: 200 });
    try {
      const started = Date.now();
      alerter.update(report('breached', '2026-01-01T00:00:01.000Z'));
      await alerter.flush();
      const tookMs = Date.now() - started;
      expect(tookMs).toBeGreaterThanOrEqual(150);
      expect(tookMs).toBeLessThan(2_000);
      expect(hook.bodies).toHaveLength(1);
      expect(lines.some((line) => line.msg === 'alert webhook failed (not retried)')).toBe(true);
      // Still firing: the breach is not raised again for a lost notification.
      expect(alerter.update(report('breached', '2026-01-01T00:00:02.000Z'))).toEqual([]);
      await alerter.flush();
      expect(hook.bodies).toHaveLength(1);
    } finally {
      await hook.close();
    }
  });

  test('through the monitor: 5xx answers breach error_rate on a tick, clean traffic clears it', async () => {
    const hook = await receiver();
    const { log } = capturingLogger();
    const clock = { ms: 1_700_000_000_000, nowMs: () => clock.ms };
    const monitor = new Monitor({
      log,
      clock,
      alertWebhookUrl: hook.url,
      metrics: { defaultMetrics: false },
      slo: { shortWindowMs: 5_000, longWindowMs: 10_000 },
    });
    try {
      for (let s = 0; s < 12; s++) {
        for (let i = 0; i < 10; i++) monitor.observeHttp('/api/journal', 'POST', 503, 3);
        clock.ms += 1_000;
        await monitor.tick();
      }
      expect(monitor.alerter.active()).toContain('error_rate');
      for (let s = 0; s < 12; s++) {
        for (let i = 0; i < 10; i++) monitor.observeHttp('/api/journal', 'POST', 201, 3);
        clock.ms += 1_000;
        await monitor.tick();
      }
      expect(monitor.alerter.active()).toEqual([]);
      await monitor.stop();
      const errorRate = hook.bodies.filter((b) => b.slo === 'error_rate').map((b) => b.status);
      expect(errorRate).toEqual(['firing', 'resolved']);
    } finally {
      await hook.close();
    }
  });
});
