// Proves the bridge's projection-lag tracker: lag is the age of the oldest outcome this bridge
// published that the projections' checkpoint has not passed, 0 once caught up, unknown (null)
// before anything was published; per-partition event counts follow the checkpoint; and memory is
// bounded by sampling (one remembered publication per partition per 10 ms).
import { LAG_SAMPLE_EVERY_MS, ProjectionLagTracker } from '../../../bridge/src/monitor/lag';
import type { Queryable } from '../../../core/postgres/pool';

function checkpoints(rows: Map<number, bigint>): Queryable {
  return {
    query: async (_text: string, values?: unknown[]) => {
      expect(values).toEqual(['group-1', 'topic-1']);
      return {
        rows: [...rows].map(([partition, next]) => ({ partition, next_offset: String(next) })),
      } as never;
    },
  };
}

test('measures the oldest unapplied publication and follows the checkpoints', async () => {
  const rows = new Map<number, bigint>();
  const lag = new ProjectionLagTracker({
    db: checkpoints(rows),
    topic: 'topic-1',
    groupId: 'group-1',
  });
  expect(await lag.poll(0)).toEqual({ lagMs: null, events: new Map() });

  lag.published({ partition: 0, offset: '0' }, 1_000);
  lag.published({ partition: 0, offset: '1' }, 1_005); // within 10 ms: not remembered
  lag.published({ partition: 0, offset: '2' }, 1_020);
  lag.published({ partition: 1, offset: '7' }, 1_500);
  let reading = await lag.poll(2_000);
  expect(reading.lagMs).toBe(1_000); // nothing applied: offset 0 of partition 0, 1 s old
  expect(reading.events).toEqual(
    new Map([
      [0, 3],
      [1, 8],
    ]),
  );

  rows.set(0, 2n); // offsets 0 and 1 applied
  reading = await lag.poll(2_000);
  expect(reading.lagMs).toBe(980); // offset 2, published at 1,020
  expect(reading.events.get(0)).toBe(1);

  rows.set(0, 3n);
  expect((await lag.poll(2_000)).lagMs).toBe(500); // partition 1's offset 7 is the oldest now
  rows.set(1, 8n);
  expect(await lag.poll(2_000)).toEqual({
    lagMs: 0,
    events: new Map([
      [0, 0],
      [1, 0],
    ]),
  });
});

test('remembers at most one publication per partition per sampling interval', async () => {
  const rows = new Map<number, bigint>();
  const lag = new ProjectionLagTracker({
    db: checkpoints(rows),
    topic: 'topic-1',
    groupId: 'group-1',
  });
  for (let i = 0; i < 10_000; i++) lag.published({ partition: 0, offset: String(i) }, i * 0.1);
  // 1,000 ms of publications: one remembered per 10 ms.
  const remembered = (
    lag as unknown as { partitions: Map<number, { offsets: bigint[] }> }
  ).partitions.get(0)!.offsets.length;
  expect(remembered).toBe(1_000 / LAG_SAMPLE_EVERY_MS);
  rows.set(0, 5_000n);
  expect((await lag.poll(1_000)).lagMs).toBe(500); // offset 5,000 was published at 500 ms
});
