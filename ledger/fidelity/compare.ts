/**
 * Compares what the two ledgers answered to the same call; returns null when they agree, else a
 * description of the first difference.
 *
 * Agreement means: the same rejection (LedgerError code), or the same results where the engine's
 * timestamps, translated through the run's TimestampMap, equal the cluster's. Create results:
 * equal statuses; `exists` points at the same object; every other result carries its event's own
 * timestamp, so within a batch those are consecutive (base + index) on each ledger. Objects are
 * compared field by field over the port's fields only.
 */
import type { TimestampMap } from './timestamps';

export type Outcome<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

export interface CreateResult {
  timestamp: bigint;
  status: number;
}

export type ObjectKind = 'account' | 'transfer' | 'balance';

const FIELDS: Record<ObjectKind, readonly string[]> = {
  account: [
    'id',
    'debits_pending',
    'debits_posted',
    'credits_pending',
    'credits_posted',
    'user_data_128',
    'user_data_64',
    'user_data_32',
    'reserved',
    'ledger',
    'code',
    'flags',
    'timestamp',
  ],
  transfer: [
    'id',
    'debit_account_id',
    'credit_account_id',
    'amount',
    'pending_id',
    'user_data_128',
    'user_data_64',
    'user_data_32',
    'timeout',
    'ledger',
    'code',
    'flags',
    'timestamp',
  ],
  balance: ['debits_pending', 'debits_posted', 'credits_pending', 'credits_posted', 'timestamp'],
};

function render(kind: ObjectKind, object: object, timestamp?: string): string {
  const record = object as Record<string, unknown>;
  return FIELDS[kind]
    .map((key) => `${key}=${key === 'timestamp' && timestamp ? timestamp : String(record[key])}`)
    .join(' ');
}

/** Both rejected alike, or both answered: the detail of a mismatch, else null. */
function compareRejections<T>(engine: Outcome<T>, cluster: Outcome<T>): string | null {
  if (engine.ok && cluster.ok) return null;
  const describe = (o: Outcome<T>): string =>
    o.ok ? 'answered' : `rejected ${o.code} (${o.message})`;
  if (!engine.ok && !cluster.ok && engine.code === cluster.code) return null;
  return `engine ${describe(engine)}; cluster ${describe(cluster)}`;
}

export function compareCreate(
  engine: Outcome<CreateResult[]>,
  cluster: Outcome<CreateResult[]>,
  map: TimestampMap,
  names: { name: (status: number) => string; exists: number },
): string | null {
  const rejected = compareRejections(engine, cluster);
  if (rejected !== null || !engine.ok || !cluster.ok) return rejected;
  const e = engine.value;
  const c = cluster.value;
  if (e.length !== c.length) return `engine ${e.length} results; cluster ${c.length}`;
  const statuses = (rs: CreateResult[]): string => rs.map((r) => names.name(r.status)).join(',');
  if (statuses(e) !== statuses(c)) {
    const diffs = e.flatMap((r, i) => {
      const other = c[i]!;
      return r.status === other.status
        ? []
        : [`  event ${i}: engine ${names.name(r.status)}, cluster ${names.name(other.status)}`];
    });
    return `statuses differ:\n${diffs.join('\n')}`;
  }
  const engineBase = eventBase(e, names.exists, 'engine');
  const clusterBase = eventBase(c, names.exists, 'cluster');
  if (typeof engineBase === 'string') return engineBase;
  if (typeof clusterBase === 'string') return clusterBase;
  // `exists` may point at an event earlier in the same batch (even one a broken chain rolled
  // back): translate those by their offset from the batch's first event.
  const translate = (ts: bigint): bigint | undefined => {
    const mapped = map.translate(ts);
    if (mapped !== undefined || engineBase === null || clusterBase === null) return mapped;
    const offset = ts - engineBase;
    return offset >= 0n && offset < BigInt(e.length) ? clusterBase + offset : undefined;
  };
  for (let i = 0; i < e.length; i++) {
    if (e[i]!.status !== names.exists) continue;
    const translated = translate(e[i]!.timestamp);
    if (translated !== c[i]!.timestamp) {
      return (
        `event ${i} exists: engine points at ${e[i]!.timestamp} (cluster ` +
        `${translated ?? 'no such object'}), cluster at ${c[i]!.timestamp}`
      );
    }
  }
  return null;
}

/**
 * Results other than `exists` carry their event's timestamp: base + index, one per event. The
 * batch's base (null if every event exists), or why the results break that rule.
 */
function eventBase(results: CreateResult[], exists: number, side: string): bigint | null | string {
  let base: bigint | null = null;
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    if (r.status === exists) continue;
    base ??= r.timestamp - BigInt(i);
    if (r.timestamp !== base + BigInt(i)) {
      return `${side}: event ${i} stamped ${r.timestamp}, expected ${base + BigInt(i)} (base + i)`;
    }
  }
  return base;
}

export function compareObjects(
  kind: ObjectKind,
  engine: Outcome<object[]>,
  cluster: Outcome<object[]>,
  map: TimestampMap,
): string | null {
  const rejected = compareRejections(engine, cluster);
  if (rejected !== null || !engine.ok || !cluster.ok) return rejected;
  const e = engine.value.map((o) => {
    const ts = (o as { timestamp: bigint }).timestamp;
    const translated = map.translate(ts);
    return render(kind, o, translated === undefined ? `engine:${ts}?` : String(translated));
  });
  const c = cluster.value.map((o) => render(kind, o));
  const n = Math.max(e.length, c.length);
  for (let i = 0; i < n; i++) {
    if (e[i] === c[i]) continue;
    return (
      `engine ${e.length} ${kind}s, cluster ${c.length}; first difference at ${i}:\n` +
      `  engine:  ${e[i] ?? '(none)'}\n  cluster: ${c[i] ?? '(none)'}`
    );
  }
  return null;
}
