// delivery.assigned and delivery.done through the in-process worker (real Postgres, real Redis): the customer's
// inbox line with the exact words, once per event however often the job arrives or runs, the webhook the same
// way, malformed payloads and delivery.canceled (not this queue's) dead-lettered at once.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { requireRedis } from "@storefront/shared/testing/test-redis";
import { listDeadLetters } from "../dead-letters.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../testing/webhook-receiver.ts";
import { newEvent, startHarness, type Harness } from "../testing/worker-harness.ts";
import { createWebhookSender } from "../webhook.ts";

const redisUp = await requireRedis("notifications worker: delivery events");

let db: TestDatabase;
let h: Harness | undefined;
let receiver: WebhookReceiver | undefined;
beforeAll(async () => {
  db = await createTestDatabase("notifications_delivery");
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
const assigned = (order_id: number, user_id: number, courier_name = "Courier One", courier_id = 1) =>
  newEvent({ type: "delivery.assigned", payload: { order_id, user_id, courier_id, courier_name } });
const done = (order_id: number, user_id: number, courier_id = 1) => newEvent({ type: "delivery.done", payload: { order_id, user_id, courier_id } });

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

describe.skipIf(!redisUp)("delivery.assigned and delivery.done", () => {
  test("delivery.assigned: one inbox line for the customer, 'on its way', the body naming the courier", async () => {
    h = await startHarness({ sql: db.sql });
    const event = assigned(2042, 7, "Courier One");
    const job = await h.settled((await h.add(event)).id!);
    expect(await job.getState()).toBe("completed");
    expect(job.returnvalue).toEqual({ recipients: 1 });
    expect(await rowsOf(event.event_id)).toEqual([
      {
        user_id: 7,
        channel: "inbox",
        type: "delivery.assigned",
        title: "Order #2042 is on its way",
        body: "Courier One has your order and is bringing it to you.",
        payload: { order_id: 2042, user_id: 7, courier_id: 1, courier_name: "Courier One" },
      },
    ]);
    // Nobody else is asked or told: the event names its one recipient.
    expect(h.stubs.favoritesRequests).toEqual([]);
    expect(h.stubs.callers).toEqual([]);
  });

  test("delivery.done: one inbox line for the customer, 'delivered'", async () => {
    h = await startHarness({ sql: db.sql });
    const event = done(2043, 9, 2);
    const job = await h.settled((await h.add(event)).id!);
    expect(await job.getState()).toBe("completed");
    expect(await rowsOf(event.event_id)).toEqual([
      {
        user_id: 9,
        channel: "inbox",
        type: "delivery.done",
        title: "Order #2043 delivered",
        body: "Your order has been handed over. Thank you for shopping with us.",
        payload: { order_id: 2043, user_id: 9, courier_id: 2 },
      },
    ]);
  });

  test("the same event id again: ignored while the job is kept, and one row after a re-run or a re-publish", async () => {
    h = await startHarness({ sql: db.sql });
    const event = assigned(2044, 10);
    const job = await h.settled((await h.add(event)).id!);
    const finishedOn = job.finishedOn;

    // The relay re-publishing after a crash: BullMQ drops the add while the completed job is kept.
    expect((await h.add(event)).id).toBe(event.event_id);
    expect((await h.settled(event.event_id)).finishedOn).toBe(finishedOn);

    // A stalled job run again: the insert meets the row the first run wrote.
    await job.retry("completed");
    await h.settled(event.event_id);

    // A re-publish once the completed job has aged out: a fresh job, same event id, still one row.
    await (await h.producer.getJob(event.event_id))!.remove();
    const republished = await h.settled((await h.add(event)).id!);
    expect(await republished.getState()).toBe("completed");

    expect(await rowsOf(event.event_id)).toHaveLength(1);
    const [count] = await db.sql<{ n: number }[]>`select count(*)::int as n from inbox where user_id = 10`;
    expect(count!.n).toBe(1);
  });

  test("a webhook configured: the same words delivered once, signed, and not re-sent on a re-run", async () => {
    receiver = startWebhookReceiver("delivery-secret");
    h = await startHarness({ sql: db.sql, webhook: createWebhookSender({ url: receiver.url, secret: "delivery-secret", deadlineMs: 2000 }) });
    const event = done(2045, 11);
    const job = await h.settled((await h.add(event)).id!);
    expect(await job.getState()).toBe("completed");
    await job.retry("completed");
    await h.settled(event.event_id);

    expect(receiver.deliveries).toHaveLength(1);
    expect(receiver.accepted()[0]!.body).toEqual({
      event_id: event.event_id,
      type: "delivery.done",
      user_id: 11,
      title: "Order #2045 delivered",
      body: "Your order has been handed over. Thank you for shopping with us.",
      payload: { order_id: 2045, user_id: 11, courier_id: 1 },
    });
    expect((await rowsOf(event.event_id)).map((r) => r.channel)).toEqual(["inbox", "webhook"]);
  });
});

describe.skipIf(!redisUp)("delivery jobs that cannot succeed are dead letters at their first attempt", () => {
  test.each([
    ["assigned without a courier name", "delivery.assigned", { order_id: 1, user_id: 3, courier_id: 1 }],
    ["assigned with a blank courier name", "delivery.assigned", { order_id: 1, user_id: 3, courier_id: 1, courier_name: " " }],
    ["assigned without a user", "delivery.assigned", { order_id: 1, courier_id: 1, courier_name: "Courier One" }],
    ["assigned with user 0", "delivery.assigned", { order_id: 1, user_id: 0, courier_id: 1, courier_name: "Courier One" }],
    ["done with a string order id", "delivery.done", { order_id: "1", user_id: 3, courier_id: 1 }],
    ["done without a courier", "delivery.done", { order_id: 1, user_id: 3 }],
    ["no payload at all", "delivery.done", undefined],
  ])("bad data: %s", async (_name, type, payload) => {
    h = await startHarness({ sql: db.sql });
    const event = { type, payload, event_id: crypto.randomUUID(), occurred_at: new Date().toISOString() } as any;
    const job = await expectDeadLetteredOnce(h, (await h.add(event)).id!);
    expect(job.failedReason).toStartWith(`job ${type} has invalid data: `);
    expect(await rowsOf(event.event_id)).toEqual([]);
  });

  test("a job named delivery.done carrying a delivery.assigned event is refused, not half-understood", async () => {
    h = await startHarness({ sql: db.sql });
    const event = assigned(5, 3);
    const job = await h.producer.add("delivery.done", event, { attempts: 5, jobId: event.event_id });
    expect((await expectDeadLetteredOnce(h, job.id!)).failedReason).toContain("invalid data");
    expect(await rowsOf(event.event_id)).toEqual([]);
  });

  test("delivery.canceled (not subscribed, but sent here by mistake): 'no handler', not retried", async () => {
    h = await startHarness({ sql: db.sql });
    const event = newEvent({ type: "delivery.canceled", payload: { order_id: 1, user_id: 3, reason: "order cancelled" } });
    const job = await expectDeadLetteredOnce(h, (await h.add(event)).id!);
    expect(job.failedReason).toBe("no handler for delivery.canceled");
    expect(await rowsOf(event.event_id)).toEqual([]);
  });
});
