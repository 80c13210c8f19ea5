// The real service process: a job survives SIGKILL mid-way (picked up again as stalled, rows written once),
// SIGTERM exits 0 within its time limit even with a job stuck, and a webhook without a secret or a worker
// without its client secret is refused.
import { afterEach, describe, expect, test } from "bun:test";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { EVENT_JOB_OPTIONS, NOTIFICATIONS_QUEUE } from "@storefront/shared/notifications/events";
import { deletePrefix, requireRedis, testRedisUrl, uniquePrefix } from "@storefront/shared/testing/test-redis";
import { inboxOf, READY_TIMEOUT_MS, runServiceToExit, serviceStorage, startService } from "./testing/service-process.ts";
import { startStubServices, type StubServices } from "./testing/stub-services.ts";
import { newEvent, waitFor } from "./testing/worker-harness.ts";

const redisUp = await requireRedis("notifications service process");

let cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function setUp() {
  const prefix = uniquePrefix("notifications-process");
  const stubs: StubServices = await startStubServices();
  const storage = await serviceStorage();
  const connection = new Redis(testRedisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(NOTIFICATIONS_QUEUE, { connection, prefix });
  const release: (() => void)[] = [];
  cleanups.push(storage.cleanup, () => deletePrefix(testRedisUrl, prefix), () => connection.disconnect(), () => queue.close(), () => stubs.stop(), () => release.forEach((r) => r()));
  const env = {
    ...storage.env,
    ...stubs.serviceEnv,
    QUEUE_PREFIX: prefix,
    FAVORITES_URL: stubs.url,
    CART_URL: stubs.url,
    FAVORITES_DEADLINE_MS: "60000", // a held favorites answer stays held: the test decides when the job ends
  };
  /** Holds every favorited-by answer matching `which` until the test ends; resolves when the first one is held. */
  const holdWhen = (which: (r: { after: number }) => boolean) =>
    new Promise<void>((held) => {
      stubs.hold = (request) => {
        if (!which(request)) return;
        held();
        return new Promise<void>((resolve) => release.push(resolve));
      };
    });
  return { prefix, stubs, queue, env, holdWhen };
}

describe.skipIf(!redisUp)("the notifications process", () => {
  test(
    "SIGKILL mid-job: a new process picks the stalled job up again and each recipient gets exactly one row",
    async () => {
      const { stubs, queue, env, holdWhen } = await setUp();
      stubs.favorites.set(5, [1, 3]);
      // One recipient per page: the first process writes user 1's row, then hangs on the page after user 1.
      const serviceEnv = { ...env, FAVORITES_PAGE_SIZE: "1", WORKER_LOCK_MS: "1000" };
      const held = holdWhen((r) => r.after === 1);
      const first = await startService(serviceEnv);
      cleanups.push(() => first.stop());

      const event = newEvent({ type: "stock.back_in_stock", payload: { product_id: 5, inventory: 1 } });
      await queue.add(event.type, event, { ...EVENT_JOB_OPTIONS, jobId: event.event_id });
      await held;
      expect((await inboxOf(first, 1, stubs.issuer)).map((n) => n.title)).toEqual(["Back in stock: product 5"]);
      expect(await inboxOf(first, 3, stubs.issuer)).toEqual([]);

      first.proc.kill("SIGKILL");
      await first.proc.exited;
      expect(await queue.getJobState(event.event_id)).toBe("active"); // nobody told BullMQ: only its lock will expire
      stubs.hold = undefined;

      const second = await startService(serviceEnv);
      cleanups.push(() => second.stop());
      await waitFor("the job completes in the second process", async () => (await queue.getJobState(event.event_id)) === "completed", 20_000);
      expect((await inboxOf(second, 1, stubs.issuer)).map((n) => n.title)).toEqual(["Back in stock: product 5"]);
      expect((await inboxOf(second, 3, stubs.issuer)).map((n) => n.title)).toEqual(["Back in stock: product 5"]);
      const job = (await queue.getJob(event.event_id))!;
      expect(job.stalledCounter).toBe(1);
      expect(stubs.favoritesRequests.filter((r) => r.after === 0)).toHaveLength(2); // it really ran again from the start
    },
    2 * READY_TIMEOUT_MS + 40_000,
  );

  test(
    "SIGTERM while idle: exits 0 promptly",
    async () => {
      const { env } = await setUp();
      const service = await startService(env);
      cleanups.push(() => service.stop());
      service.proc.kill("SIGTERM");
      expect(await service.exitWithin(5_000)).toBe(0);
      expect(service.output.join("\n")).toContain("worker stopped (drained)");
    },
    READY_TIMEOUT_MS + 20_000,
  );

  test(
    "SIGTERM with a job stuck: stops within the grace period, exits 0, and the job is kept for a retry",
    async () => {
      const { stubs, queue, env, holdWhen } = await setUp();
      stubs.favorites.set(8, [2]);
      const held = holdWhen(() => true);
      const service = await startService({ ...env, SHUTDOWN_GRACE_MS: "500" });
      cleanups.push(() => service.stop());
      const event = newEvent({ type: "stock.back_in_stock", payload: { product_id: 8, inventory: 1 } });
      await queue.add(event.type, event, { ...EVENT_JOB_OPTIONS, jobId: event.event_id });
      await held;

      service.proc.kill("SIGTERM");
      expect(await service.exitWithin(8_000)).toBe(0);
      expect(service.output.join("\n")).toContain("worker stopped (cancelled)");
      // Aborted, not lost: it failed this attempt and waits for its backoff, like any retryable failure.
      const job = (await queue.getJob(event.event_id))!;
      expect(await job.getState()).toBe("delayed");
      expect(job.attemptsMade).toBe(1);
      expect(job.failedReason).toContain("shutting down");
    },
    READY_TIMEOUT_MS + 20_000,
  );

  test("a webhook URL without its secret is refused at start-up", async () => {
    const { code, output } = await runServiceToExit({
      NOTIFY_WEBHOOK_URL: "http://127.0.0.1:9/hook",
      SERVICE_CLIENT_SECRET: "unused",
      QUEUE_PREFIX: uniquePrefix("unused"),
    });
    expect(code).toBe(1);
    expect(output).toContain("NOTIFY_WEBHOOK_SECRET is required");
  });

  test("no SERVICE_CLIENT_SECRET is refused at start-up as invalid configuration", async () => {
    const { code, output } = await runServiceToExit({ QUEUE_PREFIX: uniquePrefix("unused") });
    expect(code).toBe(1);
    expect(output).toContain("invalid configuration");
    expect(output).toContain("SERVICE_CLIENT_SECRET is required");
  });
});
