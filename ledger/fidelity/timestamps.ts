/**
 * The correspondence between the two ledgers' timestamps of the run's objects.
 *
 * Each ledger stamps objects with its own clock, so values differ; what must match is the order.
 * Every object the run creates (account or transfer, `created` on both sides) adds one pair
 * (engine ts, cluster ts), in creation order, and both columns must strictly increase: the map is
 * then a one-to-one, order-preserving correspondence. Results are compared after translating the
 * engine's timestamps through it.
 *
 * Filter bounds are never translated; they are chosen on each side from that side's own object
 * timestamps (`resolve`): "the timestamp of object k" on each ledger, or that plus one as a lower
 * bound ("after k"), or minus one as an upper bound ("before k"). Those select the same run objects
 * on both ledgers whatever lies between them (other batches' failed events, other clients' data);
 * the opposite offsets (k + 1 as an upper bound) would not, as the gap to the next object differs.
 */
import type { TimestampSpec } from './model';

export type Side = 'engine' | 'cluster';

export class TimestampMap {
  private readonly engine: bigint[] = [];
  private readonly cluster: bigint[] = [];
  private readonly toCluster = new Map<bigint, bigint>();

  get size(): number {
    return this.engine.length;
  }

  /** Records a created object; null, or why the pair breaks the correspondence. */
  add(engineTs: bigint, clusterTs: bigint): string | null {
    const n = this.engine.length;
    const lastEngine = this.engine[n - 1] ?? 0n;
    const lastCluster = this.cluster[n - 1] ?? 0n;
    if (engineTs <= lastEngine || clusterTs <= lastCluster) {
      return (
        `object ${n} is stamped engine ${engineTs} / cluster ${clusterTs}, not after ` +
        `object ${n - 1} (engine ${lastEngine} / cluster ${lastCluster})`
      );
    }
    this.engine.push(engineTs);
    this.cluster.push(clusterTs);
    this.toCluster.set(engineTs, clusterTs);
    return null;
  }

  /** The cluster's timestamp of the object the engine stamped `engineTs`, if it is one. */
  translate(engineTs: bigint): bigint | undefined {
    return this.toCluster.get(engineTs);
  }

  /** A filter bound on one side: a literal as is; an object reference from that side's stamps. */
  resolve(spec: TimestampSpec, side: Side): bigint {
    if (typeof spec === 'bigint') return spec;
    const n = this.engine.length;
    if (n === 0) return 0n;
    const index = Math.min(n - 1, Math.floor(spec.at * n));
    const stamps = side === 'engine' ? this.engine : this.cluster;
    const ts = stamps[index];
    if (ts === undefined) throw new Error(`timestamp index ${index} of ${n}`);
    return ts + BigInt(spec.delta);
  }
}
