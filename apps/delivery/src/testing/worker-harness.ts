// An in-process consumer of the delivery queue for tests: its own BullMQ prefix on the test Redis (deleted
// afterwards), a producer queue that adds order events as the orders service's relay does, the worker's log
// lines, the relay's wakes, and a wait for a job to end.
import { randomUUID } from "node:crypto";
import { Queue, type Job, type JobsOptions } from "bullmq";
import { Redis } from "ioredis";
import type { Sql } from "postgres";
import { DELIVERY_QUEUE, EVENT_JOB_OPTIONS, workerRedisOptions, type OrderCancelled, type OrderCreated, type OrderPaid } from "@storefront/shared/notifications/events";
import { captureLogs, type LogLine } from "@storefront/shared/testing/captured-logs";
import { deletePrefix, testRedisUrl, uniquePrefix } from "@storefront/shared/testing/test-redis";
import type { Applied } from "../consumer/apply-event.ts";
import { createDeliveryWorker, type DeliveryWorker } from "../consumer/worker.ts";
import { ADDRESS } from "./delivery-fixture.ts";

type Envelope = { event_id: string; occurred_at: string };
export type OrderEventJob = (OrderCreated | OrderPaid | OrderCancelled) & Envelope;

const envelope = (): Envelope => ({ event_id: randomUUID(), occurred_at: new Date().toISOString() });

/** The order events as the orders service writes them, each with a fresh event id. */
export const orderEvents = {
  created: (orderId: number, userId = 42): OrderEventJob => ({
    ...envelope(),
    type: "order.created",
    payload: {
      order_id: orderId,
      user_id: userId,
      total_cents: 2599,
      items: [{ product_id: 1, quantity: 1, price_cents: 2599 }],
      shipping_address: ADDRESS,
      delivery_date: "2031-05-04",
    },
  }),
  paid: (orderId: number, userId = 42): OrderEventJob => ({
    ...envelope(),
    type: "order.paid",
    payload: { order_id: orderId, user_id: userId, payment_id: randomUUID(), amount_cents: 2599 },
  }),
  cancelled: (orderId: number, userId = 42, reason = "customer asked"): OrderEventJob => ({
    ...envelope(),
    type: "order.cancelled",
    payload: { order_id: orderId, user_id: userId, reason },
  }),
};

export type WorkerHarness = {
  prefix: string;
  producer: Queue;
  consumer: DeliveryWorker;
  logs: LogLine[];
  wakes(): number;
  /** Adds an event as the relays do: name = type, jobId = event_id, EVENT_JOB_OPTIONS (overridable). */
  add(event: OrderEventJob, opts?: JobsOptions): Promise<Job>;
  /** Adds a job with any name and data, for poison tests. */
  addRaw(name: string, data: unknown, opts?: JobsOptions): Promise<Job>;
  /** Waits until the job is completed or failed and returns it as stored. */
  settled(jobId: string, timeoutMs?: number): Promise<Job<unknown, Applied>>;
  close(): Promise<void>;
};

export async function startWorkerHarness(options: { sql: Sql; concurrency?: number }): Promise<WorkerHarness> {
  const prefix = uniquePrefix("delivery");
  const connection = new Redis(...workerRedisOptions(testRedisUrl));
  const producerConnection = new Redis(...workerRedisOptions(testRedisUrl));
  const producer = new Queue(DELIVERY_QUEUE, { connection: producerConnection, prefix });
  producer.on("error", () => {});
  const { logger, lines } = captureLogs("delivery");
  let wakes = 0;
  const consumer = createDeliveryWorker({
    connection,
    prefix,
    concurrency: options.concurrency ?? 10,
    sql: options.sql,
    logger,
    outbox: { wake: () => void wakes++ },
  });
  await consumer.worker.waitUntilReady();

  const settled = async (jobId: string, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = await producer.getJobState(jobId);
      if (state === "completed" || state === "failed") return (await producer.getJob(jobId))! as Job<unknown, Applied>;
      if (Date.now() > deadline) throw new Error(`job ${jobId} still ${state} after ${timeoutMs} ms; logs:\n${lines.map((l) => JSON.stringify(l)).join("\n")}`);
      await Bun.sleep(20);
    }
  };

  return {
    prefix,
    producer,
    consumer,
    logs: lines,
    wakes: () => wakes,
    add: (event, opts) => producer.add(event.type, event, { ...EVENT_JOB_OPTIONS, jobId: event.event_id, ...opts }),
    addRaw: (name, data, opts) => producer.add(name, data, { ...EVENT_JOB_OPTIONS, jobId: randomUUID(), ...opts }),
    settled,
    async close() {
      await consumer.close({ graceMs: 2000 });
      await producer.close();
      connection.disconnect();
      producerConnection.disconnect();
      await deletePrefix(testRedisUrl, prefix).catch(() => {});
    },
  };
}
