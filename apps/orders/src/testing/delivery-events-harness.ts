// For tests of the delivery events consumer: a producer on the orders queue under a BullMQ prefix of the test's
// own (adding events as the delivery service's relay does), an in-process worker on it when the test wants
// one, orders placed straight into the database in a given status, and the events as the contract shapes them.
import { randomUUID } from "node:crypto";
import { Queue, type Job, type JobsOptions } from "bullmq";
import { Redis } from "ioredis";
import type { Sql } from "postgres";
import {
  EVENT_JOB_OPTIONS,
  ORDERS_QUEUE,
  workerRedisOptions,
  type DeliveryAssigned,
  type DeliveryCanceled,
  type DeliveryDone,
} from "@storefront/shared/notifications/events";
import { createLogger } from "@storefront/shared/observability/logger";
import { deletePrefix, testRedisUrl, uniquePrefix } from "@storefront/shared/testing/test-redis";
import type { DeliveryEvent } from "../db/delivery.ts";
import type { OrderStatus } from "../db/orders.ts";
import { createDeliveryEventsWorker, type DeliveryEventsWorker } from "../delivery-events.ts";

const ADDRESS = { name: "Ada Lovelace", line1: "12 Analytical St", city: "London", postal_code: "N1 9GU", country: "GB" };

export const assigned = (order_id: number, user_id: number, courier_name = "Courier One", courier_id = 1): DeliveryEvent =>
  envelope<DeliveryAssigned>({ type: "delivery.assigned", payload: { order_id, user_id, courier_id, courier_name } });
export const done = (order_id: number, user_id: number, courier_id = 1): DeliveryEvent =>
  envelope<DeliveryDone>({ type: "delivery.done", payload: { order_id, user_id, courier_id } });
export const canceled = (order_id: number, user_id: number, reason = "the order was cancelled"): DeliveryEvent =>
  envelope<DeliveryCanceled>({ type: "delivery.canceled", payload: { order_id, user_id, reason } });

function envelope<E extends DeliveryAssigned | DeliveryDone | DeliveryCanceled>(event: E) {
  return { ...event, event_id: randomUUID(), occurred_at: new Date().toISOString() } as DeliveryEvent;
}

/**
 * An order of one line in `status`, its saga finished (step done, so no sweeper picks it up) unless it is
 * pending, whose saga stays at reserve as checkout leaves it. Returns its id.
 */
export async function placeOrder(sql: Sql, userId: number, status: OrderStatus = "confirmed"): Promise<number> {
  const step = status === "pending" ? "reserve" : status === "cancelling" ? "refund" : "done";
  const [row] = await sql<{ order_id: number }[]>`
    insert into orders (user_id, status, step, total_cents, shipping_address, card_token)
    values (${userId}, ${status}, ${step}, 1000, ${sql.json(ADDRESS)}, 'tok_visa')
    returning order_id`;
  await sql`insert into order_items (order_id, product_id, quantity, price_cents) values (${row!.order_id}, 1, 2, 500)`;
  return row!.order_id;
}

export type DeliveryQueue = {
  prefix: string;
  producer: Queue;
  /** Adds an event as the relays do: name = type, jobId = event_id, EVENT_JOB_OPTIONS (overridable). */
  add(event: { type: string; event_id: string }, opts?: JobsOptions): Promise<Job>;
  /** Waits until the job is completed or failed and returns it as stored. */
  settled(jobId: string, timeoutMs?: number): Promise<Job>;
  close(): Promise<void>;
};

/** A producer on the orders queue under `prefix` (default: a new one, deleted on close). */
export function deliveryQueue(prefix = uniquePrefix("orders-delivery")): DeliveryQueue {
  const connection = new Redis(...workerRedisOptions(testRedisUrl));
  connection.on("error", () => {});
  const producer = new Queue(ORDERS_QUEUE, { connection, prefix });
  producer.on("error", () => {});
  const settled = async (jobId: string, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = await producer.getJobState(jobId);
      if (state === "completed" || state === "failed") return (await producer.getJob(jobId))!;
      if (Date.now() > deadline) throw new Error(`job ${jobId} still ${state} after ${timeoutMs} ms`);
      await Bun.sleep(20);
    }
  };
  return {
    prefix,
    producer,
    add: (event, opts) => producer.add(event.type, event, { ...EVENT_JOB_OPTIONS, jobId: event.event_id, ...opts }),
    settled,
    async close() {
      await producer.close();
      connection.disconnect();
      await deletePrefix(testRedisUrl, prefix).catch(() => {});
    },
  };
}

export type DeliveryHarness = DeliveryQueue & { events: DeliveryEventsWorker; logs: string[] };

/** The queue and an in-process worker on it, as index.ts builds it. */
export async function startDeliveryHarness(sql: Sql, options: { concurrency?: number } = {}): Promise<DeliveryHarness> {
  const queue = deliveryQueue();
  const connection = new Redis(...workerRedisOptions(testRedisUrl));
  const logs: string[] = [];
  const logger = createLogger("orders", "debug", (line) => logs.push(line));
  const events = createDeliveryEventsWorker({ connection, prefix: queue.prefix, sql, logger, concurrency: options.concurrency ?? 8 });
  await events.worker.waitUntilReady();
  return {
    ...queue,
    events,
    logs,
    async close() {
      await events.close({ graceMs: 2000 });
      connection.disconnect();
      await queue.close();
    },
  };
}
