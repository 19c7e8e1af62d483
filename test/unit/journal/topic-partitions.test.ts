/**
 * Proves the outcome topic's partition count that consistency tokens are checked against: read
 * once at open, re-read when a token names a partition beyond it (a topic can gain partitions),
 * at most once per PARTITIONS_REREAD_MS_MIN however many such tokens arrive, never lowered, and
 * kept as it was when a re-read fails. A fake clock and a counting reader stand in for Kafka.
 */
import pino from 'pino';
import {
  PARTITIONS_REREAD_MS_MIN,
  PartitionCount,
} from '../../../bridge/src/journal/topic-partitions';

function setup(counts: Array<number | Error>) {
  let now = 1_000_000;
  let reads = 0;
  const read = async () => {
    const next = counts[Math.min(reads, counts.length - 1)]!;
    reads += 1;
    if (next instanceof Error) throw next;
    return next;
  };
  return {
    open: () => PartitionCount.open({ read, log: pino({ level: 'silent' }), clockMs: () => now }),
    advance: (ms: number) => (now += ms),
    reads: () => reads,
  };
}

it('answers partitions below the count without asking Kafka again', async () => {
  const kafka = setup([6]);
  const count = await kafka.open();
  kafka.advance(PARTITIONS_REREAD_MS_MIN * 10);
  expect(await Promise.all([0, 3, 5].map((p) => count.countFor(p)))).toEqual([6, 6, 6]);
  expect(kafka.reads()).toBe(1);
});

it('re-reads for a partition beyond the count, at most once per interval', async () => {
  const kafka = setup([6, 12]);
  const count = await kafka.open();
  // Just opened: too soon to ask again.
  expect(await count.countFor(9)).toBe(6);
  kafka.advance(PARTITIONS_REREAD_MS_MIN);
  expect(await Promise.all([count.countFor(9), count.countFor(99)])).toEqual([12, 12]);
  expect(kafka.reads()).toBe(2);
  expect(await count.countFor(99)).toBe(12);
  expect(kafka.reads()).toBe(2);
});

it('never lowers the count, and keeps it when a re-read fails', async () => {
  const kafka = setup([6, new Error('kafka down'), 3]);
  const count = await kafka.open();
  kafka.advance(PARTITIONS_REREAD_MS_MIN);
  expect(await count.countFor(7)).toBe(6);
  kafka.advance(PARTITIONS_REREAD_MS_MIN);
  expect(await count.countFor(7)).toBe(6);
  expect(kafka.reads()).toBe(3);
});

it('refuses to open on a topic without partitions', async () => {
  await expect(setup([0]).open()).rejects.toThrow(/0 partitions/);
});
