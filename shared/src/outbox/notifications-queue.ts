// The producer side of the notifications queue as an outbox relay uses it: a BullMQ Queue on its own
// fail-fast Redis connection (producerRedisOptions), and a close that releases both.
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { NOTIFICATIONS_QUEUE, producerRedisOptions, type EventJobData } from "../notifications/events.ts";

export type NotificationsQueue = { queue: Queue<EventJobData>; close(): Promise<void> };

export function createNotificationsQueue({ redisUrl, prefix }: { redisUrl: string; prefix: string }): NotificationsQueue {
  const connection = new Redis(...producerRedisOptions(redisUrl));
  const queue = new Queue<EventJobData>(NOTIFICATIONS_QUEUE, { connection, prefix });
  // While Redis is down both emit an error per reconnect attempt; the relay reports the outage once instead.
  connection.on("error", () => {});
  queue.on("error", () => {});
  return {
    queue,
    async close() {
      await queue.close();
      // A connection passed in stays open after queue.close(): it is ours to end.
      connection.disconnect();
    },
  };
}
