// The producer side of the event queues as an outbox relay uses them: one BullMQ Queue per consuming
// service's queue (events.ts SUBSCRIPTIONS), all on one fail-fast Redis connection (producerRedisOptions),
// and a close that releases them.
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { producerRedisOptions, subscribedQueues, type EventJobData } from "../notifications/events.ts";

export type EventQueues = { queues: Record<string, Queue<EventJobData>>; close(): Promise<void> };

export function createEventQueues({ redisUrl, prefix, names = subscribedQueues() }: { redisUrl: string; prefix: string; names?: readonly string[] }): EventQueues {
  const connection = new Redis(...producerRedisOptions(redisUrl));
  // While Redis is down both emit an error per reconnect attempt; the relay reports the outage once instead.
  connection.on("error", () => {});
  const queues: Record<string, Queue<EventJobData>> = {};
  for (const name of names) {
    const queue = new Queue<EventJobData>(name, { connection, prefix });
    queue.on("error", () => {});
    queues[name] = queue;
  }
  return {
    queues,
    async close() {
      await Promise.all(Object.values(queues).map((q) => q.close()));
      // A connection passed in stays open after queue.close(): it is ours to end.
      connection.disconnect();
    },
  };
}
