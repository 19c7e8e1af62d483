/**
 * k6's per-request samples (gzipped CSV) folded into what the report shows: for each kind of
 * request (the `name` tag: `POST /api/journal`, `GET /api/balance/:accountId`), per second and per
 * k6 scenario (a step of the run), the requests answered, the errors, and latency percentiles.
 *
 * Only `http_req_duration` rows are read: one per request, carrying its status, scenario and name.
 * Percentiles are exact (nearest rank over the sorted durations), not estimated from buckets.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import zlib from 'node:zlib';

export interface LatencyStats {
  requests: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface SecondPoint extends LatencyStats {
  /** Seconds since the first sample of the run. */
  t: number;
}

export interface Phase extends LatencyStats {
  /** The k6 scenario (a step: `tps_5000`, `spike`, `reads`, ...). */
  scenario: string;
  /**
   * Seconds from its first to its last sample (timestamps are whole seconds, so a phase of n
   * seconds spans n of them on average).
   */
  seconds: number;
  /** Answered without error, per second of the phase. */
  okPerSecond: number;
}

export interface RequestSeries {
  /** The request kind (k6's `name` tag). */
  name: string;
  /** The run's first sample (Unix seconds): `t` of perSecond counts from it. */
  startSecond: number;
  perSecond: SecondPoint[];
  phases: Phase[];
  total: LatencyStats;
}

/** Nearest-rank percentile of an ascending array (0 when empty). */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** One CSV record's fields (RFC 4180: quoted fields may hold commas and doubled quotes). */
export function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

class Bucket {
  durations: number[] = [];
  errors = 0;

  add(durationMs: number, ok: boolean): void {
    this.durations.push(durationMs);
    if (!ok) this.errors++;
  }

  stats(): LatencyStats {
    const sorted = Float64Array.from(this.durations).sort();
    return {
      requests: sorted.length,
      errors: this.errors,
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
      max: sorted.length === 0 ? 0 : sorted[sorted.length - 1]!,
    };
  }
}

interface Sample {
  second: number;
  scenario: string;
  durationMs: number;
  ok: boolean;
}

/** A request is an error unless it was answered with a 2xx status. */
function answeredOk(status: string): boolean {
  return status.length === 3 && status[0] === '2';
}

export async function readSeries(
  samplesPath: string,
  names: readonly string[],
): Promise<RequestSeries[]> {
  const samples = new Map<string, Sample[]>(names.map((name) => [name, []]));
  const lines = readline.createInterface({
    input: fs.createReadStream(samplesPath).pipe(zlib.createGunzip()),
    crlfDelay: Infinity,
  });
  let columns: Map<string, number> | null = null;
  let firstSecond = Infinity;
  for await (const line of lines) {
    if (columns === null) {
      columns = new Map(splitCsvLine(line).map((column, i) => [column, i]));
      continue;
    }
    if (!line.startsWith('http_req_duration,')) continue;
    const fields = splitCsvLine(line);
    const into = samples.get(fields[columns.get('name')!]!);
    if (into === undefined) continue;
    const second = Number(fields[columns.get('timestamp')!]);
    firstSecond = Math.min(firstSecond, second);
    into.push({
      second,
      scenario: fields[columns.get('scenario')!]!,
      durationMs: Number(fields[columns.get('metric_value')!]),
      ok: answeredOk(fields[columns.get('status')!]!),
    });
  }
  return names.map((name) => fold(name, samples.get(name)!, firstSecond));
}

function fold(name: string, samples: Sample[], firstSecond: number): RequestSeries {
  const seconds = new Map<number, Bucket>();
  const phases = new Map<string, { bucket: Bucket; first: number; last: number }>();
  const total = new Bucket();
  for (const s of samples) {
    const t = s.second - firstSecond;
    let bucket = seconds.get(t);
    if (bucket === undefined) seconds.set(t, (bucket = new Bucket()));
    bucket.add(s.durationMs, s.ok);
    let phase = phases.get(s.scenario);
    if (phase === undefined) {
      phases.set(s.scenario, (phase = { bucket: new Bucket(), first: s.second, last: s.second }));
    }
    phase.bucket.add(s.durationMs, s.ok);
    phase.first = Math.min(phase.first, s.second);
    phase.last = Math.max(phase.last, s.second);
    total.add(s.durationMs, s.ok);
  }
  const perSecond = [...seconds.entries()]
    .sort(([a], [b]) => a - b)
    .map(([t, bucket]) => ({ t, ...bucket.stats() }));
  return {
    name,
    startSecond: firstSecond,
    perSecond,
    phases: [...phases.entries()].map(([scenario, { bucket, first, last }]) => {
      const stats = bucket.stats();
      const span = Math.max(1, last - first);
      return {
        scenario,
        seconds: span,
        okPerSecond: (stats.requests - stats.errors) / span,
        ...stats,
      };
    }),
    total: total.stats(),
  };
}
