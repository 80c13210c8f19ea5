// order.confirmed and order.cancelled through the in-process worker (real Postgres, real Redis): the customer's
// inbox line with the exact words, once per event however often the job arrives or runs, the webhook the same
// way as the other events, malformed payloads and the order events nobody handles dead-lettered at once.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { requireRedis } from "@storefront/shared/testing/test-redis";
import { listDeadLetters } from "../dead-letters.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../testing/webhook-receiver.ts";
import { newEvent, startHarness, type Harness } from "../testing/worker-harness.ts";
import { createWebhookSender } from "../webhook.ts";

const redisUp = await requireRedis("notifications worker: order events");

let db: TestDatabase;
let h: Harness | undefined;
let receiver: WebhookReceiver | undefined;
beforeAll(async () => {
  db = await createTestDatabase("notifications_orders");
  await migrate(db.sql, fileURLToPath(new URL("../db/migrations", import.meta.url)));
});
afterEach(async () => {
  await h?.close();
  await receiver?.stop();
  h = receiver = undefined;
});
afterAll(() => db?.drop());

type Row = { user_id: number; channel: string; type: string; title: string; body: string; payload: any };
const rowsOf = async (eventId: string) => [
  ...(await db.sql<Row[]>`select user_id, channel, type, title, body, payload from inbox where event_id = ${eventId} order by user_id, channel`),
];
const confirmed = (order_id: number, user_id: number, total_cents: number) => newEvent({ type: "order.confirmed", payload: { order_id, user_id, total_cents } });
const cancelled = (order_id: number, user_id: number, reason: string) => newEvent({ type: "order.cancelled", payload: { order_id, user_id, reason } });

/** Failed at its first attempt with nothing scheduled to run it again, and listed once among the dead letters. */
async function expectDeadLetteredOnce(h: Harness, jobId: string) {
  const job = await h.settled(jobId);
  expect(await job.getState()).toBe("failed");
  expect(job.attemptsMade).toBe(1);
  expect(await h.producer.getDelayedCount()).toBe(0);
  expect(await h.producer.getWaitingCount()).toBe(0);
  expect((await listDeadLetters(h.producer)).filter((d) => d.id === jobId)).toHaveLength(1);
  return job;
}

describe.skipIf(!redisUp)("order.confirmed and order.cancelled", () => {
  test("order.confirmed: one inbox line for the customer, with the order number and the amount", async () => {
    h = await startHarness({ sql: db.sql });
    const event = confirmed(1042, 7, 1234);
    const job = await h.settled((await h.add(event)).id!);
    expect(await job.getState()).toBe("completed");
    expect(job.returnvalue).toEqual({ recipients: 1 });
    expect(await rowsOf(event.event_id)).toEqual([
      {
        user_id: 7,
        channel: "inbox",
        type: "order.confirmed",
        title: "Order #1042 confirmed",
        body: "We have your payment of 12.34 and your order is on its way to being packed.",
        payload: { order_id: 1042, user_id: 7, total_cents: 1234 },
      },
    ]);
    // Nobody else is asked or told: the event names its one recipient.
    expect(h.stubs.favoritesRequests).toEqual([]);
    expect(h.stubs.callers).toEqual([]);
  });

  test.each([
    [0, "0.00"],
    [5, "0.05"],
    [100, "1.00"],
    [123_456_789, "1234567.89"],
  ])("an amount of %i cents reads %s", async (cents, shown) => {
    h = await startHarness({ sql: db.sql });
    const event = confirmed(1, 8, cents);
    await h.settled((await h.add(event)).id!);
    expect((await rowsOf(event.event_id))[0]!.body).toBe(`We have your payment of ${shown} and your order is on its way to being packed.`);
  });

  test("order.cancelled: the reason in the title, the refund and the released stock in the body", async () => {
    h = await startHarness({ sql: db.sql });
    const event = cancelled(1043, 9, "payment declined");
    const job = await h.settled((await h.add(event)).id!);
    expect(await job.getState()).toBe("completed");
    expect(await rowsOf(event.event_id)).toEqual([
      {
        user_id: 9,
        channel: "inbox",
        type: "order.cancelled",
        title: "Order #1043 cancelled: payment declined",
        body: "Any payment has been refunded and the items you ordered were released.",
        payload: { order_id: 1043, user_id: 9, reason: "payment declined" },
      },
    ]);
  });

  test("the same event id again: ignored while the job is kept, and one row after a re-run or a re-publish", async () => {
    h = await startHarness({ sql: db.sql });
    const event = confirmed(1044, 10, 500);
    const job = await h.settled((await h.add(event)).id!);
    const finishedOn = job.finishedOn;

    // The relay re-publishing after a crash: BullMQ drops the add while the completed job is kept.
    const again = await h.add(event);
    expect(again.id).toBe(event.event_id);
    expect((await h.settled(event.event_id)).finishedOn).toBe(finishedOn);

    // A stalled job run again: the insert meets the row the first run wrote.
    await job.retry("completed");
    await h.settled(event.event_id);
    expect((await h.producer.getJob(event.event_id))!.finishedOn).toBeGreaterThanOrEqual(finishedOn!);

    // A re-publish once the completed job has aged out: a fresh job, same event id, still one row.
    await (await h.producer.getJob(event.event_id))!.remove();
    const republished = await h.settled((await h.add(event)).id!);
    expect(await republished.getState()).toBe("completed");
    expect(republished.attemptsMade).toBe(1);

    expect(await rowsOf(event.event_id)).toHaveLength(1);
    const [count] = await db.sql<{ n: number }[]>`select count(*)::int as n from inbox where user_id = 10`;
    expect(count!.n).toBe(1);
  });

  test("a webhook configured: the same words delivered once, signed, and not re-sent on a re-run", async () => {
    receiver = startWebhookReceiver("order-secret");
    h = await startHarness({ sql: db.sql, webhook: createWebhookSender({ url: receiver.url, secret: "order-secret", deadlineMs: 2000 }) });
    const event = cancelled(1045, 11, "out of stock");
    const job = await h.settled((await h.add(event)).id!);
    expect(await job.getState()).toBe("completed");
    await job.retry("completed");
    await h.settled(event.event_id);

    expect(receiver.deliveries).toHaveLength(1);
    expect(receiver.accepted()[0]!.body).toEqual({
      event_id: event.event_id,
      type: "order.cancelled",
      user_id: 11,
      title: "Order #1045 cancelled: out of stock",
      body: "Any payment has been refunded and the items you ordered were released.",
      payload: { order_id: 1045, user_id: 11, reason: "out of stock" },
    });
    expect((await rowsOf(event.event_id)).map((r) => r.channel)).toEqual(["inbox", "webhook"]);
  });
});

describe.skipIf(!redisUp)("order jobs that cannot succeed are dead letters at their first attempt", () => {
  test.each([
    ["confirmed without a user", "order.confirmed", { order_id: 1, total_cents: 100 }],
    ["confirmed with user 0", "order.confirmed", { order_id: 1, user_id: 0, total_cents: 100 }],
    ["confirmed with a string amount", "order.confirmed", { order_id: 1, user_id: 3, total_cents: "1.00" }],
    ["confirmed with a negative amount", "order.confirmed", { order_id: 1, user_id: 3, total_cents: -1 }],
    ["confirmed with fractional cents", "order.confirmed", { order_id: 1, user_id: 3, total_cents: 10.5 }],
    ["cancelled without an order", "order.cancelled", { user_id: 3, reason: "changed my mind" }],
    ["cancelled without a reason", "order.cancelled", { order_id: 1, user_id: 3 }],
    ["cancelled with a blank reason", "order.cancelled", { order_id: 1, user_id: 3, reason: "  " }],
    ["no payload at all", "order.confirmed", undefined],
  ])("bad data: %s", async (_name, type, payload) => {
    h = await startHarness({ sql: db.sql });
    const event = { type, payload, event_id: crypto.randomUUID(), occurred_at: new Date().toISOString() } as any;
    const job = await expectDeadLetteredOnce(h, (await h.add(event)).id!);
    expect(job.failedReason).toStartWith(`job ${type} has invalid data: `);
    expect(await rowsOf(event.event_id)).toEqual([]);
  });

  test("a job named order.confirmed carrying an order.cancelled event is refused, not half-understood", async () => {
    h = await startHarness({ sql: db.sql });
    const event = cancelled(5, 3, "changed my mind");
    const job = await h.producer.add("order.confirmed", event, { attempts: 5, jobId: event.event_id });
    expect((await expectDeadLetteredOnce(h, job.id!)).failedReason).toContain("invalid data");
    expect(await rowsOf(event.event_id)).toEqual([]);
  });

  test.each([
    ["order.created", { order_id: 1, user_id: 3, total_cents: 100, items: [], shipping_address: { name: "A", line1: "B", city: "C", postal_code: "D", country: "NL" }, delivery_date: null }],
    ["order.paid", { order_id: 1, user_id: 3, payment_id: "pay_1", amount_cents: 100 }],
  ])("%s (not subscribed, but sent here by mistake): 'no handler', not retried", async (type, payload) => {
    h = await startHarness({ sql: db.sql });
    const event = newEvent({ type, payload } as any);
    const job = await expectDeadLetteredOnce(h, (await h.add(event)).id!);
    expect(job.failedReason).toBe(`no handler for ${type}`);
    expect(await rowsOf(event.event_id)).toEqual([]);
  });

  test("a job name that is an Object.prototype property (toString) has no handler either", async () => {
    h = await startHarness({ sql: db.sql });
    const job = await h.producer.add("toString", { event_id: "proto-1" }, { attempts: 5, jobId: "proto-1" });
    expect((await expectDeadLetteredOnce(h, job.id!)).failedReason).toBe("no handler for toString");
  });
});
