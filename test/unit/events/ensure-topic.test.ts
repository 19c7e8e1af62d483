/**
 * ensureTopic against a scripted admin: a topic just created (here or by a racing starter) is
 * listed before every broker hosts it. Metadata then answers UNKNOWN_TOPIC_OR_PARTITION, or
 * partitions without a leader, for a moment; ensureTopic waits that out rather than fail a start
 * (what crashed the composed cluster's projections worker on its first start).
 */
import type { Admin } from 'kafkajs';
import { ensureTopic, KAFKA_TUNING_DEFAULT } from '../../../events/kafka';

interface Script {
  metadata: Array<Error | number[]>;
  created?: boolean;
}

function retriable(type: string): Error {
  return Object.assign(new Error(type), { retriable: true, type });
}

function scriptedAdmin(script: Script) {
  const calls = { createTopics: 0, metadata: 0, waitForLeaders: [] as unknown[] };
  const admin = {
    listTopics: async () => (script.created === true ? ['t'] : []),
    createTopics: async (options: { waitForLeaders?: boolean }) => {
      calls.createTopics += 1;
      calls.waitForLeaders.push(options.waitForLeaders);
      return true;
    },
    fetchTopicMetadata: async () => {
      const next = script.metadata[Math.min(calls.metadata, script.metadata.length - 1)]!;
      calls.metadata += 1;
      if (next instanceof Error) throw next;
      return {
        topics: [
          { name: 't', partitions: next.map((leader, id) => ({ partitionId: id, leader })) },
        ],
      };
    },
    describeConfigs: async () => ({
      resources: [{ configEntries: [{ configName: 'max.message.bytes', configValue: '1048576' }] }],
    }),
  };
  return { admin: admin as unknown as Admin, calls };
}

describe('ensureTopic', () => {
  it('waits through UNKNOWN_TOPIC_OR_PARTITION and leaderless partitions, then reports the topic', async () => {
    const { admin, calls } = scriptedAdmin({
      metadata: [retriable('UNKNOWN_TOPIC_OR_PARTITION'), [0, -1], [0, 1]],
    });
    await expect(ensureTopic(admin, 't', 2, 1)).resolves.toEqual({
      created: true,
      partitions: 2,
      messageBytesMax: 1_048_576,
    });
    expect(calls).toMatchObject({ createTopics: 1, metadata: 3, waitForLeaders: [false] });
  });

  it('fails at once on an error that is not retriable', async () => {
    const fatal = Object.assign(new Error('TOPIC_AUTHORIZATION_FAILED'), { retriable: false });
    const { admin, calls } = scriptedAdmin({ created: true, metadata: [fatal] });
    await expect(ensureTopic(admin, 't', 2, 1)).rejects.toBe(fatal);
    expect(calls).toMatchObject({ createTopics: 0, metadata: 1 });
  });

  it('fails, naming the topic, when a partition has no leader past the wait', async () => {
    const { admin } = scriptedAdmin({ created: true, metadata: [[0, -1]] });
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    try {
      const outcome = ensureTopic(admin, 't', 2, 1, {
        tuning: { ...KAFKA_TUNING_DEFAULT, requestTimeoutMs: 0 },
      }).catch((e: unknown) => e);
      await jest.advanceTimersByTimeAsync(31_000);
      expect(String(await outcome)).toMatch(
        /topic t: unreadable metadata \(2 partitions, some without a leader/,
      );
    } finally {
      jest.useRealTimers();
    }
  });
});
