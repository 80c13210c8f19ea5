// The BFF's subscription to product.changed against real Redis: the shared one under a prefix of the test's own
// for messages, and a private redis-server on a free port (never the shared one) to kill and start again.
import { afterEach, describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import { broadcastChannel } from "@storefront/shared/notifications/events";
import { Registry } from "@storefront/shared/observability/metrics";
import { captureLogs } from "@storefront/shared/testing/captured-logs";
import { redisServerInstalled, requireRedis, startPrivateRedis, testRedisUrl, uniquePrefix, type PrivateRedis } from "@storefront/shared/testing/test-redis";
import { freePort } from "../../../tests/support/free-ports.ts";
import { INVALIDATIONS_COUNTER, startProductsInvalidation, type ProductsInvalidation } from "./products-invalidation.ts";

const redisUp = await requireRedis("the BFF's product change subscription");
if (!redisServerInstalled()) {
  if (process.env.CI === "true") throw new Error("CI=true: the subscription's Redis outage tests need redis-server on PATH");
  console.warn("skipping the subscription's Redis outage tests: redis-server is not installed (Debian package redis-server)");
}

let running: ProductsInvalidation | undefined;
let privateRedis: PrivateRedis | undefined;
const clients: Redis[] = [];
afterEach(async () => {
  await running?.close();
  running = undefined;
  await privateRedis?.stop();
  privateRedis = undefined;
  for (const c of clients.splice(0)) c.disconnect();
});

function start(redisUrl: string, prefix = uniquePrefix("bff-invalidation")) {
  const registry = new Registry();
  const { logger, lines } = captureLogs("bff", "info");
  const invalidation = startProductsInvalidation({ redisUrl, prefix, logger, registry });
  running = invalidation;
  let drops = 0;
  invalidation.onChange(() => drops++);
  /** The counter as /metrics shows it. */
  const counter = () => {
    const text = registry.render();
    const read = (reason: string) => Number(text.match(new RegExp(`${INVALIDATIONS_COUNTER}\\{reason="${reason}"\\} (\\d+)`))?.[1] ?? 0);
    return { product_changed: read("product_changed"), unreadable: read("unreadable"), subscribed: read("subscribed") };
  };
  return { invalidation, prefix, lines, drops: () => drops, counter };
}

const publisher = (url: string) => {
  const client = new Redis(url);
  clients.push(client);
  return client;
};

async function eventually(check: () => boolean, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await Bun.sleep(10);
  }
}

describe.skipIf(!redisUp)("the product change subscription", () => {
  test("a product.changed on its prefix's channel drops the cache and is counted; another prefix's is not heard", async () => {
    const s = start(testRedisUrl);
    await eventually(() => s.invalidation.subscribed, 5000, "subscribed");
    expect(s.drops()).toBe(1); // once on subscribing: anything before it may have been missed
    const redis = publisher(testRedisUrl);
    const message = JSON.stringify({ type: "product.changed", payload: { product_id: 3, changed: ["price_cents"] }, event_id: crypto.randomUUID(), occurred_at: new Date().toISOString() });
    expect(await redis.publish(broadcastChannel(s.prefix, "product.changed"), message)).toBe(1);
    await eventually(() => s.drops() === 2, 2000, "the drop");
    expect(await redis.publish(broadcastChannel(uniquePrefix("another-deployment"), "product.changed"), message)).toBe(0);
    await Bun.sleep(50);
    expect(s.drops()).toBe(2);
    expect(s.counter()).toEqual({ product_changed: 1, unreadable: 0, subscribed: 1 });
  });

  test("a message that cannot be read still drops the cache, counted and logged as unreadable", async () => {
    const s = start(testRedisUrl);
    await eventually(() => s.invalidation.subscribed, 5000, "subscribed");
    await publisher(testRedisUrl).publish(broadcastChannel(s.prefix, "product.changed"), "{not json");
    await eventually(() => s.drops() === 2, 2000, "the drop");
    expect(s.counter()).toEqual({ product_changed: 0, unreadable: 1, subscribed: 1 });
    expect(s.lines.filter((l) => l.level === "warn" && l.msg.includes("unreadable"))).toHaveLength(1);
  });

  test("after close() nothing more is dropped", async () => {
    const s = start(testRedisUrl);
    await eventually(() => s.invalidation.subscribed, 5000, "subscribed");
    await s.invalidation.close();
    expect(await publisher(testRedisUrl).publish(broadcastChannel(s.prefix, "product.changed"), "{}")).toBe(0);
    await Bun.sleep(50);
    expect(s.drops()).toBe(1);
  });

  test.skipIf(!redisServerInstalled())("connection lost and back: subscribed again, everything dropped once, the outage logged once", async () => {
    privateRedis = await startPrivateRedis(freePort());
    const s = start(privateRedis.url);
    await eventually(() => s.invalidation.subscribed, 5000, "subscribed");
    expect(s.drops()).toBe(1);
    await privateRedis.stop();
    await eventually(() => !s.invalidation.subscribed, 5000, "the loss noticed");
    await Bun.sleep(1000); // several reconnect attempts, refused
    expect(s.drops()).toBe(1);
    await privateRedis.start();
    await eventually(() => s.invalidation.subscribed, 8000, "subscribed again");
    expect(s.drops()).toBe(2);
    expect(s.counter().subscribed).toBe(2);
    // Subscribed for real, not only connected: a change is heard again.
    await publisher(privateRedis.url).publish(broadcastChannel(s.prefix, "product.changed"), JSON.stringify({ payload: { product_id: 1 } }));
    await eventually(() => s.drops() === 3, 2000, "the drop after the reconnect");
    expect(s.lines.filter((l) => l.level === "warn" && l.msg.startsWith("Redis is unreachable"))).toHaveLength(1);
    expect(s.lines.filter((l) => l.level === "info" && l.msg.startsWith("Redis is reachable again"))).toHaveLength(1);
  });

  test.skipIf(!redisServerInstalled())("Redis down at start: nothing thrown, one log line, and subscribed (with one drop) once it is up", async () => {
    const port = freePort();
    const s = start(`redis://127.0.0.1:${port}`);
    await Bun.sleep(1200);
    expect(s.invalidation.subscribed).toBe(false);
    expect(s.drops()).toBe(0);
    expect(s.lines.filter((l) => l.level === "warn")).toHaveLength(1);
    expect(s.lines[0]!.msg).toContain("other replicas' changes show after its TTL");
    privateRedis = await startPrivateRedis(port);
    await eventually(() => s.invalidation.subscribed, 8000, "subscribed");
    expect(s.drops()).toBe(1);
  });
});
