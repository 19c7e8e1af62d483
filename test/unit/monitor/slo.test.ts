// Proves the SLO evaluator's sliding windows and burn rates on a fake clock: observations leave
// the windows as time passes, a short spike is at risk but not a breach, a sustained one breaches
// (and a fast burn breaches at once), throughput is judged only while offered, and every SLO
// says no_data without enough observations.
import { type SloName, SloEvaluator, type SloStatus } from '../../../bridge/src/monitor/slo';
import { latencyBucketOf, latencyBucketUpperMs } from '../../../bridge/src/monitor/window';

class FakeClock {
  constructor(public ms = 1_700_000_000_000) {}
  nowMs(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

function setup() {
  const clock = new FakeClock();
  const slo = new SloEvaluator({ clock });
  const get = (name: SloName): SloStatus => slo.evaluate().slos.find((s) => s.name === name)!;
  return { clock, slo, get };
}

/** `perSec` answers each second for `seconds`, `errorShare` of them 5xx, all at `ms`. */
function traffic(
  env: ReturnType<typeof setup>,
  seconds: number,
  perSec: number,
  opts: { ms?: number; errorShare?: number; route?: string } = {},
): void {
  for (let s = 0; s < seconds; s++) {
    for (let i = 0; i < perSec; i++) {
      const error = i < Math.round(perSec * (opts.errorShare ?? 0));
      env.slo.observeRequest(opts.route ?? '/api/journal', error ? 503 : 201, opts.ms ?? 5);
    }
    env.clock.advance(1_000);
  }
}

describe('SloEvaluator', () => {
  test('starts with no data for every SLO', () => {
    const env = setup();
    for (const status of env.slo.evaluate().slos) {
      expect({ name: status.name, state: status.state }).toEqual({
        name: status.name,
        state: 'no_data',
      });
    }
  });

  test('latency p99 within target is ok; quantiles are read as bucket upper bounds', () => {
    const env = setup();
    traffic(env, 10, 100, { ms: 20 });
    const api = env.get('api_latency_p99');
    expect(api.state).toBe('ok');
    expect(api.current).toBeCloseTo(latencyBucketUpperMs(latencyBucketOf(20)), 6);
    expect(api.current!).toBeGreaterThanOrEqual(20);
    expect(api.current!).toBeLessThan(20 * 1.12 + 1e-9);
    expect(api.burnRate).toBe(0);
    expect(api.samples).toBe(1_000);
  });

  test('a short error spike is at risk, not breached; it leaves the windows as time passes', () => {
    const env = setup();
    traffic(env, 240, 50); // 4 min of clean traffic fill the long window
    traffic(env, 5, 50, { errorShare: 0.1 }); // 5 s at 10% errors
    const spike = env.get('error_rate');
    // Short window: the current (empty) second and the 59 before it: 25 errors in 2,950 answers
    // = 0.85%; the budget is 1%, so the burn rate is 0.85, over the 0.8 at-risk line.
    expect(spike.current).toBeCloseTo(25 / 2_950, 5);
    expect(spike.burnRate).toBeCloseTo(25 / 2_950 / 0.01, 2);
    expect(spike.state).toBe('at_risk');
    // Availability (99.9%, long window 5 min): 25 / 12,250 errors → burn ≈ 2 in the long window,
    // 8.3 in the short: both over 1, so breached.
    const availability = env.get('availability');
    expect(availability.burnRateLong).toBeCloseTo(25 / 12_250 / 0.001, 2);
    expect(availability.state).toBe('breached');
    traffic(env, 61, 50); // the spike leaves the short window
    expect(env.get('error_rate')).toMatchObject({ state: 'ok', current: 0, burnRate: 0 });
    // Still in the long window: availability burns there but not in the short one → at risk.
    expect(env.get('availability').state).toBe('at_risk');
    traffic(env, 300, 50); // and the long one
    expect(env.get('availability')).toMatchObject({ state: 'ok', current: 1 });
  });

  test('a sustained error rate breaches; a fast burn breaches before the long window fills', () => {
    const env = setup();
    traffic(env, 240, 50);
    traffic(env, 3, 50, { errorShare: 0.2 }); // 30 errors in 2,950: short burn 1.02, long 0.25
    expect(env.get('error_rate')).toMatchObject({ state: 'at_risk' });
    expect(env.get('error_rate').burnRateLong!).toBeLessThan(1);
    traffic(env, 60, 50, { errorShare: 0.2 }); // 20% errors for a minute: both windows burn
    const sustained = env.get('error_rate');
    expect(sustained.state).toBe('breached');
    expect(sustained.burnRate).toBeCloseTo(20, 1);

    // Heavy clean traffic earlier keeps the long window's ratio low (burn 0.24), while the last
    // minute runs at 20% errors (short burn 20 ≥ 14.4): breached without waiting.
    const fast = setup();
    traffic(fast, 240, 1_000);
    traffic(fast, 60, 50, { errorShare: 0.2 });
    const status = fast.get('error_rate');
    expect(status.burnRate!).toBeGreaterThanOrEqual(14.4);
    expect(status.burnRateLong!).toBeLessThan(1);
    expect(status.state).toBe('breached');
  });

  test('balance reads have their own p95 SLO', () => {
    const env = setup();
    traffic(env, 10, 30, { route: '/api/balance/:accountId', ms: 80 });
    const balance = env.get('balance_read_p95');
    expect(balance.state).toBe('breached');
    expect(balance.current!).toBeGreaterThanOrEqual(80);
    expect(balance.burnRate).toBeCloseTo(20, 6); // 100% over 50 ms / 5% budget
    expect(env.get('api_latency_p99').state).toBe('ok'); // 80 ms < 500 ms
  });

  test('throughput is judged only while offered at the target rate', () => {
    const env = setup();
    const second = (offered: number, completed: number) => {
      env.slo.journalOffered(offered);
      env.slo.journalCompleted(completed);
      env.clock.advance(1_000);
    };
    for (let s = 0; s < 60; s++) second(400, 400); // idle-ish: offered below 1,000/s
    expect(env.get('throughput_sustained')).toMatchObject({ state: 'no_data', current: 400 });
    for (let s = 0; s < 60; s++) second(1_200, 1_200);
    expect(env.get('throughput_sustained').state).toBe('ok');
    expect(env.get('throughput_peak').state).toBe('no_data'); // 1,200 < 2,000 peak offered
    for (let s = 0; s < 60; s++) second(1_500, 950); // offered, but only 950/s done
    expect(env.get('throughput_sustained').state).toBe('at_risk');
    for (let s = 0; s < 60; s++) second(1_500, 600);
    expect(env.get('throughput_sustained')).toMatchObject({ state: 'breached', current: 600 });
    for (let s = 0; s < 10; s++) second(2_500, 2_400);
    expect(env.get('throughput_peak')).toMatchObject({ state: 'ok', current: 2_400 });
  });

  test('projection lag p99 and reconciliation mismatches', () => {
    const env = setup();
    for (let s = 0; s < 30; s++) {
      env.slo.observeLagMs(s < 29 ? 100 : 5_000);
      env.clock.advance(1_000);
    }
    // One sample of 30 over 1 s: 3.3% of samples against a 1% budget → burn 3.3 in both windows.
    const lag = env.get('projection_lag_p99');
    expect(lag).toMatchObject({ state: 'breached', samples: 30 });
    expect(lag.current!).toBeGreaterThanOrEqual(5_000);
    expect(lag.burnRate).toBeCloseTo(1 / 30 / 0.01, 2);
    expect(env.get('reconciliation_mismatches').state).toBe('no_data');
    env.slo.setMismatches(0);
    expect(env.get('reconciliation_mismatches')).toMatchObject({ state: 'ok', current: 0 });
    env.slo.setMismatches(3);
    expect(env.get('reconciliation_mismatches')).toMatchObject({ state: 'breached', current: 3 });
  });

  test('targets and windows are configurable', () => {
    const clock = new FakeClock();
    const slo = new SloEvaluator({
      clock,
      targets: { apiP99Ms: 5 },
      shortWindowMs: 10_000,
      longWindowMs: 20_000,
      requestsMin: 1,
    });
    for (let s = 0; s < 20; s++) {
      slo.observeRequest('/api/journal', 201, 10);
      clock.advance(1_000);
    }
    const api = slo.evaluate().slos.find((s) => s.name === 'api_latency_p99')!;
    expect(api).toMatchObject({ target: 5, state: 'breached', samples: 9 });
    expect(() => new SloEvaluator({ shortWindowMs: 10_000, longWindowMs: 5_000 })).toThrow(
      RangeError,
    );
  });
});
