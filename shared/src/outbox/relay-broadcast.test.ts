// The relay's broadcast types (events.ts BROADCASTS) against a real Redis, each test under a prefix of its own:
// PUBLISHed on the prefix's channel in the pass that marks them published, and never lost to a failed PUBLISH.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { migrate } from "../db/migrate.ts";
import { broadcastChannel, type OutboxEvent } from "../notifications/events.ts";
import { createLogger } from "../observability/logger.ts";
import { createTestDatabase, type TestDatabase } from "../testing/test-database.ts";
import { deletePrefix, requireRedis, testRedisUrl, uniquePrefix } from "../testing/test-redis.ts";
import { createEventPublisher, type RedisEventPublisher } from "./event-publisher.ts";
import { createEventQueues, type EventQueues } from "./event-queues.ts";
import { createOutboxRelay, type EventPublisher, type OutboxRelay } from "./relay.ts";
import { writeEvent } from "./write-event.ts";

const redisUp = await requireRedis("outbox relay broadcasts");

let db: TestDatabase;
let prefix: string;
let queues: EventQueues;
let publisher: RedisEventPublisher;
let listener: Redis;
let heard: { channel: string; data: any; at: number }[];
const relays: OutboxRelay[] = [];

beforeAll(async () => {
  db = await createTestDatabase("outbox_broadcast");
  await migrate(db.sql, fileURLToPath(new URL(".", import.meta.url)));
});
afterAll(() => db?.drop());

beforeEach(async () => {
  await db.sql`delete from outbox`;
  prefix = uniquePrefix("outbox-broadcast");
  queues = createEventQueues({ redisUrl: testRedisUrl, prefix });
  publisher = createEventPublisher(testRedisUrl);
  heard = [];
  listener = new Redis(testRedisUrl);
  await listener.psubscribe(`${prefix}:*`);
  listener.on("pmessage", (_pattern, channel, message) => heard.push({ channel, data: JSON.parse(message), at: performance.now() }));
});
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.stop()));
  await queues.close();
  publisher.close();
  listener.disconnect();
  await deletePrefix(testRedisUrl, prefix);
});

const relay = (options: Partial<Parameters<typeof createOutboxRelay>[0]> = {}) => {
  const r = createOutboxRelay({ sql: db.sql, queues: queues.queues, logger: createLogger("relay", "silent"), broadcast: { publisher, prefix }, ...options });
  relays.push(r);
  return r;
};
const write = (event: OutboxEvent) => db.sql.begin((tx) => writeEvent(tx, event));
const productChanged = (product_id: number): OutboxEvent => ({ type: "product.changed", payload: { product_id, changed: ["price_cents"] } });
const pending = async () => (await db.sql<{ n: number }[]>`select count(*)::int as n from outbox where published_at is null`)[0]!.n;

async function eventually(check: () => boolean | Promise<boolean>, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await Bun.sleep(5);
  }
}

describe.skipIf(!redisUp)("outbox relay broadcasts", () => {
  test("product.changed is PUBLISHed on <prefix>:events:product.changed as its job data, marked published, and queued nowhere", async () => {
    const id = await write(productChanged(3));
    const cart = await write({ type: "cart.changed", payload: { user_id: 1, items: 2 } });
    expect(await relay().publishOnce()).toBe(2);
    await eventually(() => heard.length >= 1);
    await Bun.sleep(50); // anything else published would have arrived by now
    const [row] = await db.sql<{ created_at: Date }[]>`select created_at from outbox where id = ${id}`;
    expect(heard.map(({ channel, data }) => ({ channel, data }))).toEqual([
      {
        channel: `${prefix}:events:product.changed`,
        data: { type: "product.changed", payload: { product_id: 3, changed: ["price_cents"] }, event_id: id, occurred_at: row!.created_at.toISOString() },
      },
    ]);
    expect(broadcastChannel(prefix, "product.changed")).toBe(`${prefix}:events:product.changed`);
    expect(await pending()).toBe(0);
    // The queued type still goes to its queue; the broadcast one to none.
    expect((await queues.queues.notifications!.getJobs(["waiting"])).map((j) => j.id)).toEqual([cart]);
    for (const q of Object.values(queues.queues)) expect(await q.getJob(id)).toBeUndefined();
  });

  test("a PUBLISH that fails rolls the batch back: the rows stay unpublished and the next pass sends them", async () => {
    await write(productChanged(4));
    let refuse = true;
    const flaky: EventPublisher = {
      waitUntilReady: () => publisher.waitUntilReady(),
      publish: (channel, message) => (refuse ? Promise.reject(new Error("Stream isn't writeable")) : publisher.publish(channel, message)),
    };
    const r = relay({ broadcast: { publisher: flaky, prefix } });
    await expect(r.publishOnce()).rejects.toThrow("event queues unavailable");
    expect(await pending()).toBe(1);
    refuse = false;
    expect(await r.publishOnce()).toBe(1);
    await eventually(() => heard.length === 1);
    expect(heard[0]!.data.payload).toEqual({ product_id: 4, changed: ["price_cents"] });
  });

  test("a publisher whose Redis never answered holds no transaction: the pass fails fast as an outage", async () => {
    await write(productChanged(5));
    const never: EventPublisher = { waitUntilReady: () => new Promise(() => {}), publish: async () => 0 };
    const started = performance.now();
    await expect(relay({ broadcast: { publisher: never, prefix }, publishTimeoutMs: 200 }).publishOnce()).rejects.toThrow("connecting to Redis");
    expect(performance.now() - started).toBeLessThan(2000);
    expect(await pending()).toBe(1);
  });

  test("woken after the commit, a started relay's broadcast reaches a listener within milliseconds, not at the poll", async () => {
    const r = relay({ pollMs: 600_000 });
    r.start();
    await Bun.sleep(100); // the first pass, at start, found nothing
    const latencies: number[] = [];
    for (let i = 1; i <= 5; i++) {
      await write(productChanged(i));
      const woken = performance.now();
      r.wake();
      await eventually(() => heard.length === i, 2000);
      latencies.push(heard[i - 1]!.at - woken);
    }
    console.log(`wake -> message heard (ms): ${latencies.map((ms) => ms.toFixed(1)).join(", ")}`);
    // The poll is ten minutes: only the wake explains any of these. A wide bound for a shared 2-core machine.
    for (const ms of latencies) expect(ms).toBeLessThan(500);
  });
});
