/**
 * Follows the ledger's change feed for the one balance movement no request of the bridge causes:
 * a hold that TigerBeetle expires by timeout. Every other movement is posted by some instance,
 * which invalidates the cache itself (BalanceReader.onPosted); an expiry would otherwise leave the
 * cached pending balance wrong until its TTL.
 *
 * The instances share one consumer group on the change topic, so each expiry reaches exactly one
 * of them, which invalidates it as the posting instance would: L1, L2, then the invalidation bus
 * to every other instance. Offsets are committed, so an expiry that happened while every instance
 * was down is still invalidated on the next start. A new group reads the topic from its start
 * (an expiry between the topic's creation and the group's first join must not be missed) but
 * skips, unread, every record older than the cache's longest TTL: no cached balance can be that
 * old. Records the relay marks as another type are skipped without parsing.
 */
import type { Consumer, Kafka } from 'kafkajs';
import { CHANGE_HEADERS, decodeChange } from '../../../events/change';
import type { Logger } from '../../../core/logger';

const EXPIRED = 'two_phase_expired';

export interface ExpiryFollowerOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  /** Records older than this (ms, by their Kafka timestamp) cannot matter to any cache entry. */
  relevantMs: number;
  /** Invalidates the accounts (TigerBeetle ids) as of the expiry's ledger timestamp. */
  onExpired(ledgerIds: bigint[], ledgerTimestampNs: bigint): Promise<void>;
  logger: Logger;
}

export class ExpiryFollower {
  private consumer: Consumer | null = null;
  private retry: NodeJS.Timeout | null = null;
  private stopped = false;
  expiriesSeen = 0;

  constructor(private readonly options: ExpiryFollowerOptions) {}

  async start(): Promise<void> {
    const { kafka, topic, groupId, logger } = this.options;
    const consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      retry: { retries: 5, restartOnFailure: async () => true },
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const ids = new Set<bigint>();
        let newest = 0n;
        const oldest = Date.now() - this.options.relevantMs;
        for (const message of batch.messages) {
          if (Number(message.timestamp) < oldest) continue;
          const type = message.headers?.[CHANGE_HEADERS.type]?.toString();
          if (type !== undefined && type !== EXPIRED) continue;
          let change;
          try {
            change = decodeChange(message.value);
          } catch {
            continue; // The projection worker dead-letters it; nothing to invalidate here.
          }
          if (change.type !== EXPIRED) continue;
          this.expiriesSeen += 1;
          ids.add(change.debitAccount.id);
          ids.add(change.creditAccount.id);
          if (change.timestamp > newest) newest = change.timestamp;
        }
        if (ids.size > 0) await this.options.onExpired([...ids], newest);
      },
    });
    logger.info({ topic, groupId }, 'following the change feed for hold expiries');
  }

  /**
   * Starts in the background and keeps trying (the change topic may not exist before the relay's
   * first run): the bridge serves meanwhile, with expiries corrected by the cache's TTL only.
   */
  startInBackground(retryMs = 2_000): void {
    const attempt = (): void => {
      if (this.stopped) return;
      this.start().catch(async (error: unknown) => {
        this.options.logger.warn({ err: error, retryMs }, 'change feed not followed yet; retrying');
        await this.consumer?.disconnect().catch(() => undefined);
        this.consumer = null;
        this.retry = setTimeout(attempt, retryMs);
        this.retry.unref();
      });
    };
    attempt();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry !== null) clearTimeout(this.retry);
    await this.consumer?.disconnect().catch(() => undefined);
    this.consumer = null;
  }
}
