/**
 * Invalidations between instances over Redis pub/sub. A message is one line of text:
 *   `<instance id> <ledger timestamp ns> <ledger id>,<ledger id>,...`
 * Every instance subscribes; an instance ignores its own messages (it applied them before
 * publishing). Pub/sub is at most once: a message sent while an instance is disconnected is lost
 * to it, which is why the reader drops its L1 whenever the link recovers.
 */
import { assert } from '../../../core/assert';
import type { RedisLink } from './redis-link';

export interface Invalidation {
  ledgerIds: string[];
  ledgerTimestampNs: bigint;
}

/** Ids per message: keeps one message under ~40 KiB. */
export const INVALIDATION_IDS_PER_MESSAGE_MAX = 1_000;

const LEDGER_ID = /^[1-9][0-9]{0,38}$/;
const TIMESTAMP = /^(0|[1-9][0-9]{0,19})$/;

export function encodeInvalidation(instanceId: string, invalidation: Invalidation): string {
  return `${instanceId} ${invalidation.ledgerTimestampNs} ${invalidation.ledgerIds.join(',')}`;
}

/** The message's sender and content, or null for a message this code did not write. */
export function decodeInvalidation(
  message: string,
): { instanceId: string; invalidation: Invalidation } | null {
  const [instanceId, timestamp, ids, extra] = message.split(' ');
  if (instanceId === undefined || timestamp === undefined || ids === undefined) return null;
  if (extra !== undefined || !TIMESTAMP.test(timestamp)) return null;
  const ledgerIds = ids.split(',');
  if (!ledgerIds.every((id) => LEDGER_ID.test(id))) return null;
  return { instanceId, invalidation: { ledgerIds, ledgerTimestampNs: BigInt(timestamp) } };
}

export class InvalidationBus {
  private subscribed: Promise<unknown> | null = null;

  constructor(
    private readonly link: RedisLink,
    private readonly channel: string,
    private readonly instanceId: string,
  ) {}

  /** Subscribes, and again after every reconnection. */
  listen(handler: (invalidation: Invalidation) => void, onBadMessage: (m: string) => void): void {
    assert(!(this.subscribed !== null), 'the bus listens once');
    this.link.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const decoded = decodeInvalidation(message);
      if (decoded === null) return onBadMessage(message);
      if (decoded.instanceId === this.instanceId) return;
      handler(decoded.invalidation);
    });
    const subscribe = () => this.link.subscriber.subscribe(this.channel).catch(() => undefined);
    this.subscribed = subscribe();
    // ioredis re-subscribes only to channels whose SUBSCRIBE succeeded; when Redis was down at
    // start it never did. Subscribing again to a channel already subscribed is harmless.
    this.link.subscriber.on('ready', () => void subscribe());
  }

  /** Resolves once subscribed (or the attempt failed: ioredis retries on reconnection). */
  async ready(): Promise<void> {
    await this.subscribed;
  }

  /** Publishes; false when Redis failed (the caller keeps the invalidation for a replay). */
  async publish(invalidation: Invalidation): Promise<boolean> {
    for (let i = 0; i < invalidation.ledgerIds.length; i += INVALIDATION_IDS_PER_MESSAGE_MAX) {
      const part = {
        ledgerIds: invalidation.ledgerIds.slice(i, i + INVALIDATION_IDS_PER_MESSAGE_MAX),
        ledgerTimestampNs: invalidation.ledgerTimestampNs,
      };
      const sent = await this.link.run((redis) =>
        redis.publish(this.channel, encodeInvalidation(this.instanceId, part)),
      );
      if (sent === undefined) return false;
    }
    return true;
  }
}
