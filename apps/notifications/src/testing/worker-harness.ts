// An in-process notifications worker for tests: its own BullMQ prefix on the test Redis (deleted afterwards),
// stub users/favorites/cart services (the worker's calls carry a service token the users stub issued), a
// producer queue to add events as the outbox relays do, and polling helpers.
import { randomUUID } from "node:crypto";
import { Queue, type Job, type JobsOptions } from "bullmq";
import { Redis } from "ioredis";
import type { Sql } from "postgres";
import { createServiceCredentials, type ServiceCredentials } from "@storefront/shared/auth/service-credentials";
import { EVENT_JOB_OPTIONS, NOTIFICATIONS_QUEUE, workerRedisOptions, type EventJobData, type OutboxEvent } from "@storefront/shared/notifications/events";
import { createLogger } from "@storefront/shared/observability/logger";
import { deletePrefix, testRedisUrl, uniquePrefix } from "@storefront/shared/testing/test-redis";
import { createUpstreamClient } from "@storefront/shared/upstream/client";
import { createCartClient } from "../clients/cart.ts";
import { createFavoritesClient } from "../clients/favorites.ts";
import type { WebhookSender } from "../webhook.ts";
import { createNotificationsWorker, type NotificationsWorker } from "../worker.ts";
import { startStubServices, STUB_CLIENT_ID, type StubServices } from "./stub-services.ts";

export type Harness = {
  prefix: string;
  stubs: StubServices;
  /** The worker's service identity, as index.ts builds it, against the users stub. */
  credentials: ServiceCredentials;
  producer: Queue;
  notifications: NotificationsWorker;
  logs: string[];
  /** Adds an event as the relays do: name = type, jobId = event_id, EVENT_JOB_OPTIONS (overridable). */
  add(event: EventJobData, opts?: JobsOptions): Promise<Job>;
  /** Waits until the job is completed or failed and returns it as stored. */
  settled(jobId: string, timeoutMs?: number): Promise<Job>;
  close(): Promise<void>;
};

export const newEvent = <E extends OutboxEvent>(event: E, occurredAt = new Date()): E & { event_id: string; occurred_at: string } => ({
  ...event,
  event_id: randomUUID(),
  occurred_at: occurredAt.toISOString(),
});

export async function startHarness(options: {
  sql: Sql;
  redisUrl?: string;
  webhook?: WebhookSender;
  reminderDelayMs?: number;
  favoritesPageSize?: number;
  deadlineMs?: number;
  concurrency?: number;
  /** The secret the worker presents; default the one the users stub accepts. */
  clientSecret?: string;
}): Promise<Harness> {
  const redisUrl = options.redisUrl ?? testRedisUrl;
  const prefix = uniquePrefix("notifications");
  const stubs = await startStubServices();
  const connection = new Redis(...workerRedisOptions(redisUrl));
  const producerConnection = new Redis(...workerRedisOptions(redisUrl));
  const producer = new Queue(NOTIFICATIONS_QUEUE, { connection: producerConnection, prefix });
  producer.on("error", () => {}); // a test that restarts Redis sees these; ioredis reconnects
  const logs: string[] = [];
  const logger = createLogger("notifications", "debug", (line) => logs.push(line));
  const deadlineMs = options.deadlineMs ?? 2000;
  const credentials = createServiceCredentials({
    users: createUpstreamClient("users", stubs.url),
    clientId: STUB_CLIENT_ID,
    clientSecret: options.clientSecret ?? stubs.serviceEnv.SERVICE_CLIENT_SECRET,
  });
  const notifications = createNotificationsWorker({
    connection,
    prefix,
    concurrency: options.concurrency ?? 20,
    sql: options.sql,
    favorites: createFavoritesClient({ baseUrl: stubs.url, deadlineMs, credentials }),
    cart: createCartClient({ baseUrl: stubs.url, deadlineMs, credentials }),
    webhook: options.webhook,
    reminderDelayMs: options.reminderDelayMs ?? 60_000,
    favoritesPageSize: options.favoritesPageSize,
    logger,
  });
  await notifications.worker.waitUntilReady();

  const settled = async (jobId: string, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = await producer.getJobState(jobId);
      if (state === "completed" || state === "failed") return (await producer.getJob(jobId))!;
      if (Date.now() > deadline) throw new Error(`job ${jobId} still ${state} after ${timeoutMs} ms; logs:\n${logs.join("\n")}`);
      await Bun.sleep(20);
    }
  };

  return {
    prefix,
    stubs,
    credentials,
    producer,
    notifications,
    logs,
    add: (event, opts) => producer.add(event.type, event, { ...EVENT_JOB_OPTIONS, jobId: event.event_id, ...opts }),
    settled,
    async close() {
      await notifications.close({ graceMs: 2000, cancelMs: 1000 });
      await producer.close();
      connection.disconnect();
      producerConnection.disconnect();
      await stubs.stop();
      await deletePrefix(redisUrl, prefix).catch(() => {});
    },
  };
}

/** Polls until `condition` holds; fails with `what` after timeoutMs. */
export async function waitFor(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await Bun.sleep(20);
  }
}
