// The Redis connection an outbox relay PUBLISHes broadcast events on (relay.ts EventPublisher): the event
// queues' fail-fast producer options, readiness as a promise the relay waits on before opening a transaction,
// and a close for shutdown. Only a service that emits a broadcast type (products: product.changed) needs one.
import { Redis } from "ioredis";
import { producerRedisOptions } from "../notifications/events.ts";
import type { EventPublisher } from "./relay.ts";

export type RedisEventPublisher = EventPublisher & { close(): void };

export function createEventPublisher(redisUrl: string): RedisEventPublisher {
  const connection = new Redis(...producerRedisOptions(redisUrl));
  // An error per reconnect attempt while Redis is down; the relay reports the outage once instead.
  connection.on("error", () => {});
  const ready = new Promise<void>((resolve) => connection.once("ready", () => resolve()));
  return {
    publish: (channel, message) => connection.publish(channel, message),
    waitUntilReady: () => ready,
    close: () => connection.disconnect(),
  };
}
