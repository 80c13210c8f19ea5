// After Redis goes away and comes back, the worker resumes by itself: ioredis reconnects (workerRedisOptions'
// retryStrategy) and BullMQ's loop picks up jobs added afterwards, with no restart of the worker.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { redisServerInstalled, startPrivateRedis, type PrivateRedis } from "@storefront/shared/testing/test-redis";
import { freePort } from "../../../tests/support/free-ports.ts";
import { newEvent, startHarness, waitFor, type Harness } from "./testing/worker-harness.ts";

const canRun = redisServerInstalled();
if (!canRun) {
  if (process.env.CI === "true") throw new Error("CI=true: the Redis restart test needs redis-server");
  console.warn("skipping the Redis restart test: no redis-server on PATH");
}

let db: TestDatabase;
let redis: PrivateRedis | undefined;
let h: Harness | undefined;
beforeAll(async () => {
  db = await createTestDatabase("notifications_redis_restart");
  await migrate(db.sql, fileURLToPath(new URL("./db/migrations", import.meta.url)));
});
afterEach(async () => {
  await h?.close();
  await redis?.stop();
});
afterAll(() => db?.drop());

const inboxCount = async (eventId: string) => (await db.sql`select count(*)::int as n from inbox where event_id = ${eventId}`)[0]!.n as number;

describe.skipIf(!canRun)("Redis restart", () => {
  test("a worker on a Redis that is killed and restarted processes a job added afterwards", async () => {
    redis = await startPrivateRedis(freePort());
    h = await startHarness({ sql: db.sql, redisUrl: redis.url });
    h.stubs.favorites.set(5, [1, 3]);

    const before = newEvent({ type: "stock.back_in_stock", payload: { product_id: 5, inventory: 1 } });
    await h.settled((await h.add(before)).id!);
    expect(await inboxCount(before.event_id)).toBe(2);

    await redis.stop();
    await Bun.sleep(500); // the worker's blocking call and its commands now fail and reconnect attempts begin
    await redis.start(); // an empty Redis: nothing was kept on disk

    const after = newEvent({ type: "stock.back_in_stock", payload: { product_id: 5, inventory: 2 } });
    await h.add(after);
    await waitFor("the job added after the restart is processed", async () => (await inboxCount(after.event_id)) === 2, 20_000);
    expect(await h.producer.getJobState(after.event_id)).toBe("completed");
    // It did notice the outage, said so once, and carried on without being restarted.
    const outageLines = h.logs.filter((line) => line.includes("Redis is unreachable"));
    expect(outageLines).toHaveLength(1);
    expect(outageLines[0]).toContain("ECONNREFUSED");
  });
});
