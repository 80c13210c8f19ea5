// Where the counts live: one Redis shared by the replicas, memory while Redis is unreachable, and the
// connection's life (the warning once, the recovery once, close()).
import { afterEach, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import type { Redis } from "ioredis";
import { errorHandler } from "@storefront/shared/errors";
import { captureLogs } from "@storefront/shared/testing/captured-logs";
import {
  deletePrefix,
  redisServerInstalled,
  requireRedis,
  startPrivateRedis,
  testRedisUrl,
  uniquePrefix,
  type PrivateRedis,
} from "@storefront/shared/testing/test-redis";
import { freePort } from "../../../../tests/support/free-ports.ts";
import { createRateLimitRedis, createRateLimits, waitForRedis, type RateLimits } from "./rate-limit.ts";
import { createCounterStore } from "./rate-limit-store.ts";

const redisUp = await requireRedis("BFF rate limit store");
if (!redisServerInstalled()) {
  if (process.env.CI === "true") throw new Error("CI=true: the rate limit outage test needs redis-server on PATH");
  console.warn("skipping the rate limit outage test: redis-server is not installed (Debian package redis-server)");
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const ip = { points: 3, windowS: 60 };

/** Limits on `url` (not waited for: a test that wants Redis connected waits itself), and an app limited by them. */
function limitsOn(url: string, prefix: string) {
  const redis = createRateLimitRedis(url);
  const { logger, lines } = captureLogs("bff");
  const limits = createRateLimits({ redis, prefix, logger, policies: { ip }, remoteAddress: () => "198.51.100.1" });
  cleanups.push(() => limits.close());
  const app = new Hono();
  app.onError(errorHandler(logger));
  app.use(limits.general);
  app.get("/", (c) => c.text("ok"));
  const get = async () => app.request("/");
  const logged = () => lines.map(({ level, msg }) => ({ level, msg }));
  return { redis, limits, get, lines, logged };
}

const statuses = async (get: () => Response | Promise<Response>, n: number) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await get()).status);
  return out;
};

/** Records what would otherwise end the process or be printed as unhandled, for the test's duration. */
function watchUnhandled() {
  const seen: unknown[] = [];
  const record = (err: unknown) => seen.push(err);
  process.on("unhandledRejection", record);
  process.on("uncaughtException", record);
  cleanups.push(async () => {
    process.off("unhandledRejection", record);
    process.off("uncaughtException", record);
  });
  return seen;
}

async function eventually(check: () => boolean, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await Bun.sleep(20);
  }
}

describe.skipIf(!redisUp)("one quota across replicas", () => {
  test("two BFF replicas on the same Redis and prefix share the quota, and the counts are in Redis", async () => {
    const prefix = uniquePrefix("rl");
    cleanups.push(() => deletePrefix(testRedisUrl, prefix));
    const a = limitsOn(testRedisUrl, prefix);
    const b = limitsOn(testRedisUrl, prefix);
    expect(await waitForRedis(a.redis, 5000)).toBe(true);
    expect(await waitForRedis(b.redis, 5000)).toBe(true);

    expect(await statuses(a.get, 2)).toEqual([200, 200]);
    const third = await b.get();
    expect(third.status).toBe(200);
    expect(third.headers.get("RateLimit")).toMatch(/^"ip";r=0;/);
    expect((await a.get()).status).toBe(429);
    expect((await b.get()).status).toBe(429);
    expect(await a.redis.keys(`${prefix}:*`)).toEqual([`${prefix}:ip:198.51.100.1`]);
    expect([...a.logged(), ...b.logged()]).toEqual([]);
  });

  test("a different prefix is a different quota", async () => {
    const [p1, p2] = [uniquePrefix("rl"), uniquePrefix("rl")];
    cleanups.push(() => deletePrefix(testRedisUrl, p1), () => deletePrefix(testRedisUrl, p2));
    const a = limitsOn(testRedisUrl, p1);
    const b = limitsOn(testRedisUrl, p2);
    await Promise.all([waitForRedis(a.redis, 5000), waitForRedis(b.redis, 5000)]);
    expect(await statuses(a.get, 4)).toEqual([200, 200, 200, 429]);
    expect((await b.get()).status).toBe(200);
  });

  test("close() quits the Redis connection: the server no longer lists it", async () => {
    const { redis, limits } = limitsOn(testRedisUrl, uniquePrefix("rl"));
    expect(await waitForRedis(redis, 5000)).toBe(true);
    const id = await redis.client("ID");
    await limits.close();
    expect(redis.status).toBe("end");
    const admin = createRateLimitRedis(testRedisUrl);
    cleanups.push(async () => admin.disconnect());
    await waitForRedis(admin, 5000);
    expect(await admin.client("LIST", "ID", String(id))).toBe("");
  });
});

describe("without Redis", () => {
  test("redis: null counts in memory, with the same headers and refusals", async () => {
    const { logger, lines } = captureLogs("bff");
    const limits = createRateLimits({ redis: null, logger, policies: { ip }, remoteAddress: () => "198.51.100.1" });
    cleanups.push(() => limits.close());
    const app = new Hono().onError(errorHandler(logger)).use(limits.general).get("/", (c) => c.text("ok"));
    expect(await statuses(() => app.request("/"), 4)).toEqual([200, 200, 200, 429]);
    expect((await app.request("/")).headers.get("RateLimit-Policy")).toBe('"ip";q=3;w=60');
    expect(lines).toEqual([]);
  });

  test("Redis unreachable (a closed port): requests pass, counted in memory, one warning, nothing unhandled; close() still works", async () => {
    const unhandled = watchUnhandled();
    const { redis, limits, get, logged } = limitsOn("redis://127.0.0.1:1", uniquePrefix("rl"));
    const seen: (string | null)[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await get();
      seen.push(`${res.status} ${res.headers.get("RateLimit")?.split(";t=")[0]}`);
    }
    expect(seen).toEqual(['200 "ip";r=2', '200 "ip";r=1', '200 "ip";r=0']);
    // Memory still limits: the outage loosens the quota to one per replica, it does not lift it.
    expect((await get()).status).toBe(429);
    // Give ioredis time to fail a few reconnects: their 'error' events have a listener (without one, ioredis
    // prints "Unhandled error event" for each), and nothing else escapes.
    expect(redis.listenerCount("error")).toBeGreaterThan(0);
    await eventually(() => redis.status === "reconnecting" || redis.status === "connecting", 5000, "a reconnect attempt");
    await Bun.sleep(300);
    expect((await get()).status).toBe(429);
    expect(logged()).toEqual([{ level: "warn", msg: "rate limits: Redis unavailable, counting in this replica's memory until it is back" }]);

    // Closed while reconnecting: no further attempts (ioredis leaves the status at "reconnecting" then).
    await limits.close();
    let attempts = 0;
    redis.on("connecting", () => attempts++);
    await Bun.sleep(300);
    expect(attempts).toBe(0);
    expect(unhandled).toEqual([]);
  });

  test("a client with the offline queue on is refused: it would hold requests up during an outage", () => {
    const { logger } = captureLogs("bff");
    const redis = { options: { enableOfflineQueue: true } } as unknown as Redis;
    expect(() => createCounterStore({ redis, prefix: "x", logger })).toThrow("enableOfflineQueue: false");
  });
});

describe.skipIf(!redisServerInstalled())("Redis going away and coming back", () => {
  test("while it is down requests pass on memory with one warning; when it is back, one line says so and Redis counts again", async () => {
    const unhandled = watchUnhandled();
    let server: PrivateRedis | undefined = await startPrivateRedis(freePort());
    cleanups.push(async () => server?.stop());
    const prefix = uniquePrefix("rl");
    const { redis, get, logged } = limitsOn(server.url, prefix);
    expect(await waitForRedis(redis, 5000)).toBe(true);
    expect((await get()).status).toBe(200);
    expect(await redis.get(`${prefix}:ip:198.51.100.1`)).toBe("1");

    await server.stop();
    expect(await statuses(get, 3)).toEqual([200, 200, 200]);
    expect(logged()).toEqual([{ level: "warn", msg: "rate limits: Redis unavailable, counting in this replica's memory until it is back" }]);

    await server.start(); // empty: nothing is kept on disk
    expect(await waitForRedis(redis, 10_000)).toBe(true);
    const back = await get();
    expect(back.status).toBe(200);
    expect(back.headers.get("RateLimit")).toMatch(/^"ip";r=2;/);
    expect((await get()).status).toBe(200);
    expect(logged()).toEqual([
      { level: "warn", msg: "rate limits: Redis unavailable, counting in this replica's memory until it is back" },
      { level: "info", msg: "rate limits: Redis is back, counting there again" },
    ]);
    expect(await redis.get(`${prefix}:ip:198.51.100.1`)).toBe("2");
    expect(unhandled).toEqual([]);
  });
});
