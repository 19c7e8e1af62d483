/**
 * Proves the publisher's batching contract without a broker, over a scripted sink: publishes
 * coalesce while a send is in flight or for `lingerMs`, sends never overlap and keep publish
 * order, each caller settles with its own batch, and every failure a caller sees is a typed
 * EventPublishError (`kafka_unavailable` on a failed or hung send, `overloaded` on a full queue,
 * `event_too_large`, `closed`), while close() drains what was queued.
 */
import pino from 'pino';
import { EventPublishError } from '../../../events/errors';
import {
  type BatchReport,
  type EventPosition,
  type OutcomeSink,
  OutcomePublisher,
  type PublisherLimits,
} from '../../../events/publisher';
import type { OutcomeMessage } from '../../../events/schema';
import { sampleOutcome } from '../../support/events/fixtures';

const silent = pino({ level: 'silent' });

interface Send {
  messages: OutcomeMessage[];
  resolve: () => void;
  reject: (error: Error) => void;
}

/** A sink whose sends stay in flight until the test settles them. */
class ScriptedSink implements OutcomeSink {
  readonly sends: Send[] = [];
  /** Acknowledge every send at once (a healthy, fast broker). */
  autoResolve = false;
  closed = false;
  concurrent = 0;
  concurrentMax = 0;
  private offset = 0;

  send(messages: OutcomeMessage[]): Promise<EventPosition[]> {
    this.concurrent += 1;
    this.concurrentMax = Math.max(this.concurrentMax, this.concurrent);
    return new Promise<EventPosition[]>((resolve, reject) => {
      // One partition; offsets follow the sends, as a broker's would.
      const acknowledge = () =>
        resolve(messages.map(() => ({ partition: 0, offset: String(this.offset++) })));
      this.sends.push({ messages, resolve: acknowledge, reject });
      if (this.autoResolve) acknowledge();
    }).finally(() => {
      this.concurrent -= 1;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  keys(index: number): string[] {
    return this.sends[index]!.messages.map((message) => message.key);
  }
}

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Settles in the test's terms: 'ok', or the EventPublishError code. */
function outcomeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'ok',
    (error: unknown) => (error instanceof EventPublishError ? error.code : `untyped: ${error}`),
  );
}

function publisher(limits: Partial<PublisherLimits> = {}, onBatch?: (r: BatchReport) => void) {
  const sink = new ScriptedSink();
  const pub = new OutcomePublisher(sink, { lingerMs: 1, ...limits }, silent, onBatch);
  return { sink, pub };
}

const journal = (n: number) => sampleOutcome(`J-${n}`, n);

describe('OutcomePublisher batching', () => {
  it('coalesces what arrives while a send is in flight into the next single send', async () => {
    const { sink, pub } = publisher();
    const first = outcomeOf(pub.publish(journal(0)));
    await until(() => sink.sends.length === 1);
    const rest = Array.from({ length: 100 }, (_, i) => outcomeOf(pub.publish(journal(i + 1))));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sink.sends).toHaveLength(1);
    sink.sends[0]!.resolve();
    expect(await first).toBe('ok');
    await until(() => sink.sends.length === 2);
    expect(sink.keys(1)).toEqual(Array.from({ length: 100 }, (_, i) => `J-${i + 1}`));
    sink.sends[1]!.resolve();
    expect(new Set(await Promise.all(rest))).toEqual(new Set(['ok']));
    expect(sink.concurrentMax).toBe(1);
    expect(pub.stats()).toMatchObject({ eventsPublished: 101, batchesSent: 2, queueDepth: 0 });
  });

  it('waits at most lingerMs for company when idle', async () => {
    const { sink, pub } = publisher({ lingerMs: 40 });
    const started = Date.now();
    const a = pub.publish(journal(1));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const b = pub.publish(journal(2));
    await until(() => sink.sends.length === 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
    expect(sink.keys(0)).toEqual(['J-1', 'J-2']);
    sink.sends[0]!.resolve();
    await Promise.all([a, b]);
  });

  it('with lingerMs 0 still coalesces one tick', async () => {
    const { sink, pub } = publisher({ lingerMs: 0 });
    const all = [1, 2, 3].map((n) => pub.publish(journal(n)));
    await until(() => sink.sends.length === 1);
    expect(sink.keys(0)).toEqual(['J-1', 'J-2', 'J-3']);
    sink.sends[0]!.resolve();
    await Promise.all(all);
  });

  it('splits by batchEventsMax, in publish order', async () => {
    const { sink, pub } = publisher({ batchEventsMax: 10 });
    const done = pub.publishMany(Array.from({ length: 25 }, (_, i) => journal(i)));
    for (const [index, size] of [10, 10, 5].entries()) {
      await until(() => sink.sends.length === index + 1);
      expect(sink.sends[index]!.messages).toHaveLength(size);
      sink.sends[index]!.resolve();
    }
    await done;
    const keys = sink.sends.flatMap((send) => send.messages.map((m) => m.key));
    expect(keys).toEqual(Array.from({ length: 25 }, (_, i) => `J-${i}`));
  });

  it('keeps each send under batchBytesMax', async () => {
    const { sink, pub } = publisher({ batchBytesMax: 2_500, eventBytesMax: 2_500 });
    sink.autoResolve = true;
    await pub.publishMany(Array.from({ length: 9 }, (_, i) => journal(i)));
    const sizes = sink.sends.map((send) => send.messages.length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(9);
    expect(sizes.length).toBeGreaterThan(1);
    for (const send of sink.sends) {
      const bytes = send.messages.reduce((n, m) => n + m.value.length + m.key.length, 0);
      expect(bytes).toBeLessThanOrEqual(2_500);
    }
  });
});

describe('OutcomePublisher failures', () => {
  it('rejects every caller of a failed batch with kafka_unavailable, then recovers', async () => {
    const reports: BatchReport[] = [];
    const { sink, pub } = publisher({}, (report) => reports.push(report));
    const batch = [1, 2, 3].map((n) => outcomeOf(pub.publish(journal(n))));
    await until(() => sink.sends.length === 1);
    sink.sends[0]!.reject(new Error('KafkaJSNumberOfRetriesExceeded: connect ECONNREFUSED'));
    expect(await Promise.all(batch)).toEqual(Array(3).fill('kafka_unavailable'));
    const next = outcomeOf(pub.publish(journal(9)));
    await until(() => sink.sends.length === 2);
    sink.sends[1]!.resolve();
    expect(await next).toBe('ok');
    expect(pub.stats()).toMatchObject({ sendFailures: 1, eventsFailed: 3, eventsPublished: 1 });
    expect(reports.map((r) => [r.events, r.ok])).toEqual([
      [3, false],
      [1, true],
    ]);
  });

  it('keeps the cause of a failed send', async () => {
    const { sink, pub } = publisher();
    const failed = pub.publish(journal(1)).catch((error: unknown) => error);
    await until(() => sink.sends.length === 1);
    const cause = new Error('broker gone');
    sink.sends[0]!.reject(cause);
    const error = (await failed) as EventPublishError;
    expect(error).toBeInstanceOf(EventPublishError);
    expect(error.cause).toBe(cause);
    expect(error.message).toMatch(/broker gone/);
  });

  it('rejects a hung send after sendTimeoutMs, and sends the next batch only after it ends', async () => {
    const { sink, pub } = publisher({ sendTimeoutMs: 100 });
    const started = Date.now();
    const hung = outcomeOf(pub.publish(journal(1)));
    await until(() => sink.sends.length === 1);
    expect(await hung).toBe('kafka_unavailable');
    expect(Date.now() - started).toBeLessThan(1_000);
    const next = outcomeOf(pub.publish(journal(2)));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(sink.sends).toHaveLength(1);
    sink.sends[0]!.resolve(); // the client let go of the hung batch at last
    await until(() => sink.sends.length === 2);
    sink.sends[1]!.resolve();
    expect(await next).toBe('ok');
    expect(sink.concurrentMax).toBe(1);
  });

  it('refuses with overloaded when the queue is full, queueing nothing', async () => {
    const { sink, pub } = publisher({ queueEventsMax: 5, batchEventsMax: 5 });
    const inFlight = pub.publish(journal(0));
    await until(() => sink.sends.length === 1);
    const queued = pub.publishMany([1, 2, 3, 4].map(journal));
    expect(await outcomeOf(pub.publishMany([5, 6].map(journal)))).toBe('overloaded');
    expect(pub.stats()).toMatchObject({ queueDepth: 4, eventsRefused: 2, inFlightEvents: 1 });
    sink.sends[0]!.resolve();
    await inFlight;
    await until(() => sink.sends.length === 2);
    expect(sink.sends[1]!.messages).toHaveLength(4);
    sink.sends[1]!.resolve();
    await queued;
  });

  it('refuses an event above eventBytesMax', async () => {
    const { sink, pub } = publisher({ eventBytesMax: 200 });
    expect(await outcomeOf(pub.publish(journal(1)))).toBe('event_too_large');
    expect(sink.sends).toHaveLength(0);
  });

  it('rejects an outcome that breaks an invariant, before queueing', async () => {
    const { pub } = publisher();
    const broken = journal(1);
    broken.transfers = [];
    await expect(pub.publish(broken)).rejects.toThrow(/invariant/);
    expect(pub.stats().queueDepth).toBe(0);
  });
});

describe('OutcomePublisher close', () => {
  it('drains the queue, then closes the sink, and refuses later publishes', async () => {
    const { sink, pub } = publisher({ lingerMs: 10_000 });
    const queued = [1, 2, 3].map((n) => outcomeOf(pub.publish(journal(n))));
    const closing = pub.close();
    expect(await outcomeOf(pub.publish(journal(4)))).toBe('closed');
    await until(() => sink.sends.length === 1);
    expect(sink.closed).toBe(false);
    sink.sends[0]!.resolve();
    await closing;
    expect(await Promise.all(queued)).toEqual(['ok', 'ok', 'ok']);
    expect(sink.closed).toBe(true);
    expect(pub.close()).toBe(closing);
  });
});
