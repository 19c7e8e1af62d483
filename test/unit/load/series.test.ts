/**
 * The load report's arithmetic: k6's CSV samples folded per second and per step with exact
 * nearest-rank percentiles, errors counted from the status, other metrics and request kinds
 * ignored, quoted CSV fields read whole; and bench:compare's "highest rate held" rule.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { highestHeld, peakAnswered } from '../../../load/runner/compare';
import { type Phase, percentile, readSeries, splitCsvLine } from '../../../load/runner/series';

const HEADER =
  'metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,method,' +
  'name,proto,scenario,service,status,subproto,tls_version,url,extra_tags,metadata';

function row(
  metric: string,
  second: number,
  value: number,
  name: string,
  scenario: string,
  status: number,
): string {
  return `${metric},${second},${value},,,,true,,POST,${name},HTTP/1.1,${scenario},,${status},,,http://x/,,`;
}

function writeSamples(lines: string[]): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'series-')), 'samples.csv.gz');
  fs.writeFileSync(file, zlib.gzipSync([HEADER, ...lines].join('\n') + '\n'));
  return file;
}

describe('percentile', () => {
  it('is the nearest rank of the sorted values', () => {
    const values = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile(Float64Array.of(7), 99)).toBe(7);
    expect(percentile(new Float64Array(0), 99)).toBe(0);
  });
});

describe('splitCsvLine', () => {
  it('splits plain fields and keeps quoted commas and doubled quotes', () => {
    expect(splitCsvLine('a,b,,c')).toEqual(['a', 'b', '', 'c']);
    expect(splitCsvLine('a,"b,c","say ""hi""",d')).toEqual(['a', 'b,c', 'say "hi"', 'd']);
  });
});

describe('readSeries', () => {
  it('folds http_req_duration rows per second and per step, by request kind', async () => {
    const J = 'POST /api/journal';
    const lines: string[] = [];
    // Second 100: 100 journals of 1..100 ms in step tps_1000; one is a 503.
    for (let i = 1; i <= 100; i++) {
      lines.push(row('http_reqs', 100, 1, J, 'tps_1000', 201));
      lines.push(row('http_req_duration', 100, i, J, 'tps_1000', i === 100 ? 503 : 201));
    }
    // Second 101: 10 journals of 5 ms in step tps_2000, and balance reads (another kind).
    for (let i = 0; i < 10; i++) {
      lines.push(row('http_req_duration', 101, 5, J, 'tps_2000', 201));
      lines.push(row('http_req_duration', 101, 1, 'GET /api/balance/:accountId', 'reads', 200));
    }
    // A quoted name field is still read whole.
    lines.push(row('http_req_duration', 102, 9, `"${J}"`, 'tps_2000', 201));
    const [journal] = await readSeries(writeSamples(lines), [J]);
    expect(journal!.perSecond.map((p) => [p.t, p.requests, p.errors])).toEqual([
      [0, 100, 1],
      [1, 10, 0],
      [2, 1, 0],
    ]);
    expect(journal!.perSecond[0]).toMatchObject({ p50: 50, p95: 95, p99: 99, max: 100 });
    const steps = Object.fromEntries(journal!.phases.map((p) => [p.scenario, p]));
    expect(steps.tps_1000).toMatchObject({ requests: 100, errors: 1, seconds: 1, okPerSecond: 99 });
    expect(steps.tps_2000).toMatchObject({ requests: 11, errors: 0, seconds: 1, p99: 9 });
    expect(journal!.total).toMatchObject({ requests: 111, errors: 1, max: 100 });
  });
});

describe('highestHeld', () => {
  const phase = (rate: number, okPerSecond: number, p99: number, errors = 0): Phase => ({
    scenario: `tps_${rate}`,
    seconds: 10,
    okPerSecond,
    requests: okPerSecond * 10 + errors,
    errors,
    p50: 1,
    p95: 1,
    p99,
    max: p99,
  });

  it('is the highest step answered at ≥ 95% of its rate with p99 < 50 ms and errors < 0.1%', () => {
    const phases = [
      phase(1000, 1000, 10),
      phase(2000, 1990, 30),
      phase(3000, 2500, 40), // answered 83%: not held
      phase(4000, 4000, 60), // p99 too high
      phase(5000, 5000, 20, 100), // 0.2% errors
    ];
    expect(highestHeld(phases)?.scenario).toBe('tps_2000');
    expect(highestHeld([phase(1000, 1000, 80)])).toBeNull();
    expect(peakAnswered(phases)).toBe(5000);
    expect(peakAnswered([])).toBe(0);
  });
});
