// The relay against a real Redis (its own BullMQ prefix per test) and a real Postgres where locking matters.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { migrate } from "../db/migrate.ts";
import { EVENT_JOB_OPTIONS, type OutboxEvent } from "../notifications/events.ts";
import { createTestDatabase, type TestDatabase } from "../testing/test-database.ts";
import { deletePrefix, requireRedis, testRedisUrl, uniquePrefix } from "../testing/test-redis.ts";
import { createEventQueues, type EventQueues } from "./event-queues.ts";
import { createLogger } from "../observability/logger.ts";
import { createOutboxRelay, purgePublished, type EventQueue, type OutboxRelay } from "./relay.ts";
import { writeEvent } from "./write-event.ts";

const redisUp = await requireRedis("outbox relay");

let db: TestDatabase;
let prefix: string;
let notifications: EventQueues;
const relays: OutboxRelay[] = [];

beforeAll(async () => {
  db = await createTestDatabase("outbox_relay");
  await migrate(db.sql, fileURLToPath(new URL(".", import.meta.url)));
});
afterAll(() => db?.drop());

beforeEach(async () => {
  await db.sql`delete from outbox`;
  prefix = uniquePrefix("outbox-relay");
  notifications = createEventQueues({ redisUrl: testRedisUrl, prefix });
});
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.stop()));
  await notifications.close();
  await deletePrefix(testRedisUrl, prefix);
});

const relay = (options: Partial<Parameters<typeof createOutboxRelay>[0]> = {}) => {
  const r = createOutboxRelay({ sql: db.sql, queues: notifications.queues, logger: createLogger("relay", "silent"), ...options });
  relays.push(r);
  return r;
};

/** For relays given only a stand-in for the notifications queue: the one event type these tests write. */
const CART_ONLY = { "cart.changed": ["notifications"] };
const write = (event: OutboxEvent) => db.sql.begin((tx) => writeEvent(tx, event));
const cartChanged = (user_id: number, items = 1): OutboxEvent => ({ type: "cart.changed", payload: { user_id, items } });
const pending = async () => (await db.sql<{ n: number }[]>`select count(*)::int as n from outbox where published_at is null`)[0]!.n;
const jobCount = () => notifications.queues.notifications!.count();

/** Polls `check` until it holds, for at most `ms`; a bounded wait instead of a fixed sleep. */
async function eventually(check: () => Promise<boolean>, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await Bun.sleep(20);
  }
}

describe.skipIf(!redisUp)("outbox relay", () => {
  test("publishes pending rows as jobs named by type, with jobId = event id and the contract's data and options", async () => {
    const events: OutboxEvent[] = [
      { type: "stock.back_in_stock", payload: { product_id: 6, inventory: 5 } },
      { type: "price.dropped", payload: { product_id: 2, product_name: "Filter coffee 500 g", old_price_cents: 1290, new_price_cents: 990 } },
      cartChanged(1, 3),
    ];
    const ids = [];
    for (const event of events) ids.push(await write(event));

    expect(await relay().publishOnce()).toBe(3);

    const rows = await db.sql<{ id: string; created_at: Date; published_at: Date | null }[]>`select id, created_at, published_at from outbox`;
    expect(rows.every((r) => r.published_at instanceof Date)).toBe(true);
    for (const [i, id] of ids.entries()) {
      const job = await notifications.queues.notifications!.getJob(id);
      const row = rows.find((r) => r.id === id)!;
      expect(job?.id).toBe(id);
      expect(job?.name).toBe(events[i]!.type);
      expect(job?.data).toEqual({ ...events[i]!, event_id: id, occurred_at: row.created_at.toISOString() });
      expect(job?.opts).toMatchObject({ attempts: EVENT_JOB_OPTIONS.attempts, backoff: EVENT_JOB_OPTIONS.backoff, removeOnFail: false });
    }
    expect(await jobCount()).toBe(3);
  });

  test("fans each event out to every queue subscribed to its type, under the same job id; an unsubscribed one is only marked published", async () => {
    const fan = createEventQueues({ redisUrl: testRedisUrl, prefix, names: ["one", "two"] });
    try {
      const subscriptions = { "cart.changed": ["one", "two"], "price.dropped": ["two"], "stock.back_in_stock": [] };
      const both = await write(cartChanged(1));
      const onlyTwo = await write({ type: "price.dropped", payload: { product_id: 2, product_name: "Tea", old_price_cents: 500, new_price_cents: 400 } });
      const nobody = await write({ type: "stock.back_in_stock", payload: { product_id: 6, inventory: 1 } });
      expect(await relay({ queues: fan.queues, subscriptions }).publishOnce()).toBe(3);
      const ids = async (name: string) => (await fan.queues[name]!.getJobs(["waiting"])).map((j) => j.id).sort();
      expect(await ids("one")).toEqual([both]);
      expect(await ids("two")).toEqual([both, onlyTwo].sort());
      expect(await pending()).toBe(0);
      expect((await fan.queues.two!.getJob(both))?.data.event_id).toBe(both);
      expect(nobody).toBeString();
    } finally {
      await fan.close();
    }
  });

  test("refuses to start without a queue that an event type is subscribed to", () => {
    expect(() => relay({ queues: {}, subscriptions: { "cart.changed": ["missing"] } })).toThrow('no queue "missing"');
  });

  test("the order events reach their consumers' queues: confirmed to notifications only, created to delivery only", async () => {
    const created = await write({
      type: "order.created",
      payload: { order_id: 1, user_id: 1, total_cents: 100, items: [{ product_id: 1, quantity: 1, price_cents: 100 }], shipping_address: { name: "A", line1: "B", city: "C", postal_code: "1", country: "DE" }, delivery_date: null },
    });
    const confirmed = await write({ type: "order.confirmed", payload: { order_id: 1, user_id: 1, total_cents: 100 } });
    expect(await relay().publishOnce()).toBe(2);
    expect((await notifications.queues.notifications!.getJobs(["waiting"])).map((j) => j.id)).toEqual([confirmed]);
    expect((await notifications.queues.delivery!.getJobs(["waiting"])).map((j) => j.id)).toEqual([created]);
  });

  test("a second pass publishes nothing", async () => {
    await write(cartChanged(1));
    const r = relay();
    expect(await r.publishOnce()).toBe(1);
    expect(await r.publishOnce()).toBe(0);
    expect(await jobCount()).toBe(1);
  });

  test("takes the oldest rows first, at most batchSize per pass", async () => {
    const ids = [];
    for (let user = 1; user <= 5; user++) ids.push(await write(cartChanged(user)));
    const r = relay({ batchSize: 2 });
    const publishedIds = async () => (await db.sql<{ id: string }[]>`select id from outbox where published_at is not null`).map((row) => row.id).sort();
    expect(await r.publishOnce()).toBe(2);
    expect(await publishedIds()).toEqual(ids.slice(0, 2).sort());
    expect(await r.publishOnce()).toBe(2);
    expect(await r.publishOnce()).toBe(1);
    expect(await r.publishOnce()).toBe(0);
    expect(await jobCount()).toBe(5);
  });

  test("re-publishing rows whose jobs already exist (a crash before the commit) adds no duplicates", async () => {
    await write(cartChanged(1));
    await write(cartChanged(2));
    const r = relay();
    expect(await r.publishOnce()).toBe(2);
    await db.sql`update outbox set published_at = null`;
    expect(await r.publishOnce()).toBe(2);
    expect(await jobCount()).toBe(2);
  });

  test("when the queue refuses the batch, the rows stay unpublished", async () => {
    await write(cartChanged(1));
    const refusing: EventQueue = { waitUntilReady: async () => {}, addBulk: async () => Promise.reject(new Error("Stream isn't writeable")) };
    await expect(relay({ queues: { notifications: refusing }, subscriptions: CART_ONLY }).publishOnce()).rejects.toThrow("event queues unavailable");
    expect(await pending()).toBe(1);
  });

  test("wake() publishes at once, without waiting for the poll", async () => {
    const r = relay({ pollMs: 600_000 });
    r.start();
    // The first pass runs at start and finds nothing; after it, only a wake (or a poll in ten minutes) finds a row.
    await Bun.sleep(100);
    const id = await write(cartChanged(4));
    await Bun.sleep(200);
    expect(await pending()).toBe(1);
    r.wake();
    await eventually(async () => (await notifications.queues.notifications!.getJob(id)) !== undefined);
    await eventually(async () => (await pending()) === 0);
  });

  test("a started relay finds rows nobody woke it for, on its poll", async () => {
    relay({ pollMs: 50 }).start();
    await write(cartChanged(5));
    await write(cartChanged(6));
    await eventually(async () => (await jobCount()) === 2 && (await pending()) === 0);
  });

  test("stop() waits for the batch in flight, which still commits", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let adding!: () => void;
    const addStarted = new Promise<void>((resolve) => (adding = resolve));
    const slow: EventQueue = {
      waitUntilReady: () => notifications.queues.notifications!.waitUntilReady(),
      addBulk: async (jobs) => {
        adding();
        await released;
        return notifications.queues.notifications!.addBulk(jobs);
      },
    };
    await write(cartChanged(7));
    const r = relay({ queues: { notifications: slow }, subscriptions: CART_ONLY });
    r.start();
    await addStarted;
    let stopped = false;
    const stopping = r.stop().then(() => (stopped = true));
    await Bun.sleep(50);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(await pending()).toBe(0);
    expect(await jobCount()).toBe(1);
  });

  test("purges published rows older than a day, and only those", async () => {
    const old = await write(cartChanged(1));
    const recent = await write(cartChanged(2));
    const unpublished = await write(cartChanged(3));
    await db.sql`update outbox set published_at = now() - interval '25 hours', created_at = now() - interval '25 hours' where id = ${old}`;
    await db.sql`update outbox set published_at = now() - interval '1 hour' where id = ${recent}`;
    await db.sql`update outbox set created_at = now() - interval '3 days' where id = ${unpublished}`;
    await purgePublished(db.sql);
    expect((await db.sql<{ id: string }[]>`select id from outbox`).map((r) => r.id).sort()).toEqual([recent, unpublished].sort());
  });

  // The embedded fallback serves one connection, so only a real server can run two relays' transactions at once.
  test.skipIf(!process.env.TEST_DATABASE_URL)("two relays on the same table publish each row exactly once", async () => {
    const total = 200;
    await db.sql`insert into outbox (type, payload) select 'cart.changed', jsonb_build_object('user_id', n, 'items', 1) from generate_series(1, ${total}) n`;
    const handed: string[] = [];
    // Slow adds keep each batch's rows locked a while, so the two relays really overlap.
    const counting: EventQueue = {
      waitUntilReady: () => notifications.queues.notifications!.waitUntilReady(),
      addBulk: async (jobs) => {
        handed.push(...jobs.map((j) => j.opts.jobId));
        await Bun.sleep(10);
        return notifications.queues.notifications!.addBulk(jobs);
      },
    };
    const drain = async (r: OutboxRelay) => {
      let sum = 0;
      for (let n = await r.publishOnce(); n > 0; n = await r.publishOnce()) sum += n;
      return sum;
    };
    const [a, b] = await Promise.all([drain(relay({ queues: { notifications: counting }, subscriptions: CART_ONLY, batchSize: 10 })), drain(relay({ queues: { notifications: counting }, subscriptions: CART_ONLY, batchSize: 10 }))]);
    expect(a + b).toBe(total);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
    expect(handed).toHaveLength(total);
    expect(new Set(handed).size).toBe(total);
    expect(await pending()).toBe(0);
    expect(await jobCount()).toBe(total);
  });
});
