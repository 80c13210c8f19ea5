import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { requireRedis } from "@storefront/shared/testing/test-redis";
import { newEvent, startHarness, type Harness } from "../testing/worker-harness.ts";

const redisUp = await requireRedis("notifications worker: product events");

let db: TestDatabase;
let h: Harness;
beforeAll(async () => {
  db = await createTestDatabase("notifications_products");
  await migrate(db.sql, fileURLToPath(new URL("../db/migrations", import.meta.url)));
});
afterEach(() => h?.close());
afterAll(() => db?.drop());

const rowsOf = async (eventId: string) => [
  ...(await db.sql<{ user_id: number; channel: string; type: string; title: string; body: string; payload: any }[]>`
    select user_id, channel, type, title, body, payload from inbox where event_id = ${eventId} order by user_id, channel`),
];

const backInStock = (product_id: number, inventory = 4) => newEvent({ type: "stock.back_in_stock", payload: { product_id, inventory } });

describe.skipIf(!redisUp)("stock.back_in_stock and price.dropped", () => {
  test("one inbox row per user who favorited the product; the same job id again adds nothing; a new event adds new rows", async () => {
    h = await startHarness({ sql: db.sql });
    h.stubs.favorites.set(5, [3, 1]);
    const first = backInStock(5);
    expect((await h.settled((await h.add(first)).id!)).returnvalue).toEqual({ recipients: 2 });
    const rows = await rowsOf(first.event_id);
    expect(rows.map((r) => [r.user_id, r.channel])).toEqual([
      [1, "inbox"],
      [3, "inbox"],
    ]);
    expect(rows[0]).toMatchObject({ type: "stock.back_in_stock", title: "Back in stock: product 5", payload: { product_id: 5, inventory: 4 } });

    // The relay re-publishing after a crash: BullMQ ignores the duplicate id while the completed job is kept.
    const requestsBefore = h.stubs.favoritesRequests.length;
    const again = await h.add(first);
    expect(again.id).toBe(first.event_id);
    await Bun.sleep(200);
    expect(h.stubs.favoritesRequests.length).toBe(requestsBefore);
    expect(await rowsOf(first.event_id)).toHaveLength(2);

    const second = backInStock(5, 9);
    await h.settled((await h.add(second)).id!);
    expect((await rowsOf(second.event_id)).map((r) => r.user_id)).toEqual([1, 3]);
    const [row] = await db.sql`select count(*)::int as count from inbox where payload->>'product_id' = '5'`;
    expect(row!.count).toBe(4);
  });

  test("a job run twice (a stalled job re-run) writes each row once", async () => {
    h = await startHarness({ sql: db.sql });
    h.stubs.favorites.set(6, [1, 3]);
    const event = backInStock(6);
    const job = await h.settled((await h.add(event)).id!);
    await job.retry("completed");
    await h.settled(job.id!);
    expect(h.stubs.favoritesRequests.filter((r) => r.productId === 6).length).toBe(2);
    expect((await rowsOf(event.event_id)).map((r) => r.user_id)).toEqual([1, 3]);
  });

  test("price.dropped: rows with the name and the new price", async () => {
    h = await startHarness({ sql: db.sql });
    h.stubs.favorites.set(2, [1, 3]);
    const event = newEvent({ type: "price.dropped", payload: { product_id: 2, product_name: "Filter coffee 500 g", old_price_cents: 1490, new_price_cents: 1290 } });
    await h.settled((await h.add(event)).id!);
    const rows = await rowsOf(event.event_id);
    expect(rows.map((r) => r.user_id)).toEqual([1, 3]);
    expect(rows[0]).toMatchObject({
      type: "price.dropped",
      title: "Price drop: Filter coffee 500 g now 12.90",
      body: "Filter coffee 500 g, on your favorites, went from 14.90 to 12.90.",
      payload: event.payload,
    });
  });

  test("pages through favorited-by: every recipient once, across pages", async () => {
    h = await startHarness({ sql: db.sql, favoritesPageSize: 2 });
    h.stubs.favorites.set(7, [9, 2, 5, 11, 4]);
    const event = backInStock(7);
    expect((await h.settled((await h.add(event)).id!)).returnvalue).toEqual({ recipients: 5 });
    expect((await rowsOf(event.event_id)).map((r) => r.user_id)).toEqual([2, 4, 5, 9, 11]);
    expect(h.stubs.favoritesRequests.map((r) => [r.after, r.limit])).toEqual([
      [0, 2],
      [4, 2],
      [9, 2],
    ]);
  });

  test("a product favorited by nobody: completed, nothing written", async () => {
    h = await startHarness({ sql: db.sql });
    const event = backInStock(8);
    const job = await h.settled((await h.add(event)).id!);
    expect(await job.getState()).toBe("completed");
    expect(job.returnvalue).toEqual({ recipients: 0 });
    expect(await rowsOf(event.event_id)).toEqual([]);
  });

  test("favorites failing (503) is retried with backoff and then delivers", async () => {
    h = await startHarness({ sql: db.sql });
    h.stubs.favorites.set(9, [1]);
    let calls = 0;
    h.stubs.failWith = () => (++calls <= 2 ? 503 : undefined);
    const event = backInStock(9);
    const job = await h.settled((await h.add(event, { backoff: { type: "fixed", delay: 50 } })).id!);
    expect(await job.getState()).toBe("completed");
    expect(job.attemptsMade).toBe(3);
    expect((await rowsOf(event.event_id)).map((r) => r.user_id)).toEqual([1]);
  });
});

describe.skipIf(!redisUp)("permanent failures fail the job at once and leave it as a dead letter", () => {
  test("an unknown product (favorites 404)", async () => {
    h = await startHarness({ sql: db.sql });
    h.stubs.unknownProducts.add(404);
    const event = backInStock(404);
    const job = await h.settled((await h.add(event)).id!);
    expect(await job.getState()).toBe("failed");
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toContain("favorites answered 404");
    expect(await rowsOf(event.event_id)).toEqual([]);
  });

  test.each([
    ["product 0", "stock.back_in_stock", { product_id: 0, inventory: 1 }],
    ["product -3", "stock.back_in_stock", { product_id: -3, inventory: 1 }],
    ["no product", "price.dropped", { product_name: "x", old_price_cents: 2, new_price_cents: 1 }],
    ["a string price", "price.dropped", { product_id: 1, product_name: "x", old_price_cents: "2", new_price_cents: 1 }],
    ["no user", "cart.changed", { items: 1 }],
    ["negative items", "cart.changed", { user_id: 1, items: -1 }],
  ])("bad data: %s", async (_name, type, payload) => {
    h = await startHarness({ sql: db.sql });
    const event = { type, payload, event_id: crypto.randomUUID(), occurred_at: new Date().toISOString() } as any;
    const job = await h.settled((await h.add(event)).id!);
    expect(await job.getState()).toBe("failed");
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toContain("invalid data");
    expect(h.stubs.favoritesRequests).toEqual([]);
  });

  test("an unknown job name, and a name that does not match the data's type", async () => {
    h = await startHarness({ sql: db.sql });
    const unknown = await h.producer.add("stock.gone", { event_id: "x1" }, { jobId: "x1", attempts: 5 });
    const mismatched = backInStock(1);
    const renamed = await h.producer.add("price.dropped", mismatched, { jobId: mismatched.event_id, attempts: 5 });
    for (const id of [unknown.id!, renamed.id!]) {
      const job = await h.settled(id);
      expect(await job.getState()).toBe("failed");
      expect(job.attemptsMade).toBe(1);
    }
    expect((await h.settled(unknown.id!)).failedReason).toBe("no handler for stock.gone");
  });
});
