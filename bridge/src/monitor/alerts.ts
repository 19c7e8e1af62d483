/**
 * SLO alerts: a breach raises an alert once, a recovery resolves it once. Each transition is a
 * structured log line (pino: `error` when firing, `info` when resolved) and, when a webhook URL is
 * configured, one POST of a small JSON body. The webhook gets one attempt with a bounded timeout
 * and at most `webhookInflightMax` posts at once: a slow or dead receiver loses notifications
 * (logged), it never builds a queue or a retry storm. The log line is the record of truth.
 */
import type { Logger } from '../../../core/logger';
import type { SloReport, SloStatus } from './slo';

export interface AlertOptions {
  log: Logger;
  /** POST target for firing/resolved notifications; unset: logs only. */
  webhookUrl?: string;
  /** Longest a webhook POST may take (ms). */
  webhookTimeoutMs?: number;
  /** Webhook posts in flight at once; beyond this a notification is dropped and logged. */
  webhookInflightMax?: number;
  /** Sent as the `source` field, e.g. the instance's host:port. */
  source?: string;
}

export const WEBHOOK_TIMEOUT_MS_DEFAULT = 2_000;
export const WEBHOOK_INFLIGHT_MAX_DEFAULT = 4;

export interface AlertNotice {
  status: 'firing' | 'resolved';
  slo: string;
  description: string;
  target: number;
  current: number | null;
  state: string;
  burnRate: number | null;
  /** When the alert fired (ISO), and for `resolved` when it cleared. */
  startsAt: string;
  endsAt: string | null;
  source: string;
}

export class SloAlerter {
  /** Firing alerts by SLO name, with the time each fired. */
  private readonly firing = new Map<string, string>();
  private inflight = 0;
  private readonly pending = new Set<Promise<void>>();
  private readonly timeoutMs: number;
  private readonly inflightMax: number;

  constructor(private readonly options: AlertOptions) {
    this.timeoutMs = options.webhookTimeoutMs ?? WEBHOOK_TIMEOUT_MS_DEFAULT;
    this.inflightMax = options.webhookInflightMax ?? WEBHOOK_INFLIGHT_MAX_DEFAULT;
  }

  /** Names of the SLOs whose alert is firing. */
  active(): string[] {
    return [...this.firing.keys()];
  }

  /** Compares a report with the alerts firing; returns the notices it raised. */
  update(report: SloReport): AlertNotice[] {
    const notices: AlertNotice[] = [];
    for (const slo of report.slos) {
      const since = this.firing.get(slo.name);
      if (slo.state === 'breached' && since === undefined) {
        this.firing.set(slo.name, report.at);
        notices.push(this.notice('firing', slo, report.at, null));
      } else if (slo.state !== 'breached' && since !== undefined) {
        this.firing.delete(slo.name);
        notices.push(this.notice('resolved', slo, since, report.at));
      }
    }
    for (const notice of notices) this.emit(notice);
    return notices;
  }

  /** Waits for webhook posts in flight (each bounded by the timeout). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private notice(
    status: AlertNotice['status'],
    slo: SloStatus,
    startsAt: string,
    endsAt: string | null,
  ): AlertNotice {
    return {
      status,
      slo: slo.name,
      description: slo.description,
      target: slo.target,
      current: slo.current,
      state: slo.state,
      burnRate: slo.burnRate,
      startsAt,
      endsAt,
      source: this.options.source ?? 'ledger-bridge',
    };
  }

  private emit(notice: AlertNotice): void {
    const { log } = this.options;
    if (notice.status === 'firing') log.error({ alert: notice }, `SLO breached: ${notice.slo}`);
    else log.info({ alert: notice }, `SLO recovered: ${notice.slo}`);
    const url = this.options.webhookUrl;
    if (url === undefined || url === '') return;
    if (this.inflight >= this.inflightMax) {
      log.warn({ alert: notice.slo, inflight: this.inflight }, 'alert webhook busy: not posted');
      return;
    }
    this.inflight++;
    const post = this.post(url, notice).finally(() => {
      this.inflight--;
      this.pending.delete(post);
    });
    this.pending.add(post);
  }

  private async post(url: string, notice: AlertNotice): Promise<void> {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(notice),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      // The body is not needed; reading it releases the connection.
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) {
        this.options.log.warn(
          { alert: notice.slo, status: res.status },
          'alert webhook answered an error',
        );
      }
    } catch (error) {
      this.options.log.warn(
        { err: error, alert: notice.slo },
        'alert webhook failed (not retried)',
      );
    }
  }
}
