// Queue counts against a real Redis (a prefix of the test's own): waiting, active, delayed and failed (dead
// letters) per event queue, every subscribed queue listed, and a Redis that does not answer rejects.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { freePort } from "../../../tests/support/free-ports.ts";
import { subscribedQueues } from "../notifications/events.ts";
import { deletePrefix, requireRedis, testRedisUrl, uniquePrefix } from "../testing/test-redis.ts";
import { createQueueCounts } from "./queue-counts.ts";

const redisUp = await requireRedis("queue counts");
const prefix = uniquePrefix("queue-counts");
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const clean of cleanups.reverse()) await clean();
  if (redisUp) await deletePrefix(testRedisUrl, prefix);
});

const failFast = (url: string) => {
  const connection = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 500 });
  connection.on("error", () => {});
  cleanups.push(() => connection.disconnect());
  return connection;
};

describe.skipIf(!redisUp)("createQueueCounts", () => {
  beforeAll(async () => {
    const queue = new Queue("delivery", { connection: { url: testRedisUrl }, prefix });
    cleanups.push(() => queue.close());
    await queue.add("a", { n: 1 });
    await queue.add("b", { n: 2 });
    await queue.add("c", { n: 3 });
    await queue.add("d", { n: 4 }, { delay: 600_000 });
    // A worker without a processor takes jobs only when asked: one stays active, one is failed by hand.
    const worker = new Worker("delivery", null, { connection: { url: testRedisUrl }, prefix });
    worker.on("error", () => {});
    cleanups.push(() => worker.close());
    const token = randomUUID();
    expect(await worker.getNextJob(token)).toBeDefined();
    const second = await worker.getNextJob(token);
    await second!.moveToFailed(new Error("out of attempts"), token, false);
  });

  test("every subscribed queue, in order, with its waiting, active, delayed and failed jobs", async () => {
    const reader = createQueueCounts({ connection: failFast(testRedisUrl), prefix });
    cleanups.push(() => reader.close());
    const counts = await reader.counts();
    expect(counts.map((c) => c.name)).toEqual(subscribedQueues());
    expect(counts.find((c) => c.name === "delivery")).toEqual({ name: "delivery", waiting: 1, active: 1, delayed: 1, failed: 1 });
    expect(counts.find((c) => c.name === "notifications")).toEqual({ name: "notifications", waiting: 0, active: 0, delayed: 0, failed: 0 });
    expect(await reader.ping()).toBe("PONG");
  });

  test("a Redis that does not answer: counts and ping reject", async () => {
    const reader = createQueueCounts({ connection: failFast(`redis://127.0.0.1:${freePort()}`), prefix, names: ["delivery"] });
    cleanups.push(() => reader.close());
    await expect(reader.ping()).rejects.toThrow();
    // BullMQ waits for the connection before its first command: the caller bounds that wait (the BFF does).
    const late = await Promise.race([reader.counts().then(() => "answered", () => "rejected"), Bun.sleep(1000).then(() => "still waiting")]);
    expect(late).not.toBe("answered");
  });
});
