// The delivery queue's consumer on a real Redis and a real Postgres: order events create, activate and cancel
// deliveries; each event is applied once however often it arrives; events that arrive before their
// order.created end in the right state; a cancel after done leaves it done; a payment for an order never
// created makes no delivery and no retries; a poison job is dead-lettered at its first attempt.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { requireRedis } from "@storefront/shared/testing/test-redis";
import { COURIER_ONE, deliveryFixture, type DeliveryFixture } from "../testing/delivery-fixture.ts";
import { orderEvents, startWorkerHarness, type OrderEventJob, type WorkerHarness } from "../testing/worker-harness.ts";

const redisUp = await requireRedis("delivery worker");
let f: DeliveryFixture;
let h: WorkerHarness;
let nextOrder = 1;

beforeAll(async () => {
  if (!redisUp) return;
  f = await deliveryFixture("delivery_worker");
  h = await startWorkerHarness({ sql: f.sql });
}, 60_000);
afterAll(async () => {
  await h?.close();
  await f?.close();
});
beforeEach(async () => {
  if (redisUp) await f.resetOutbox();
});

/** Adds the event and waits for its job to end; returns the job as stored. */
async function deliver(event: OrderEventJob, jobId = event.event_id) {
  await h.add(event, { jobId });
  return h.settled(jobId);
}

const processed = async (eventId: string) =>
  [...(await f.sql<{ outcome: string }[]>`select outcome from processed_events where event_id = ${eventId}`)].map((r) => r.outcome);
const earlyEvents = async (orderId: number) => [...(await f.sql`select type from early_events where order_id = ${orderId}`)].map((r) => r.type);

describe.skipIf(!redisUp)("order events", () => {
  test("order.created makes a created delivery with the order's address and date; order.paid activates it", async () => {
    const orderId = nextOrder++;
    const created = await deliver(orderEvents.created(orderId, 5));
    expect(await created.getState()).toBe("completed");
    expect(created.returnvalue).toEqual({ outcome: "created", events: 0 });
    const view = await f.call("GET", `/deliveries/${orderId}`, { sub: 6, role: "admin" });
    expect(view.body).toMatchObject({
      order_id: orderId,
      user_id: 5,
      status: "created",
      delivery_date: "2031-05-04",
      shipping_address: { name: "Ada Lovelace", country: "GB" },
      courier: null,
      version: 1,
    });

    const paid = await deliver(orderEvents.paid(orderId, 5));
    expect(paid.returnvalue).toEqual({ outcome: "applied", events: 0 });
    expect(await f.row(orderId)).toMatchObject({ status: "activated", version: 2 });
    expect(await f.history(orderId)).toEqual([
      { from_status: null, to_status: "created", courier_id: null, by: "event order.created" },
      { from_status: "created", to_status: "activated", courier_id: null, by: "event order.paid" },
    ]);
    // Activation concerns nobody outside delivery: no event.
    expect(await f.outbox()).toEqual([]);
  });

  test("order.cancelled cancels: delivery.canceled with the reason in the outbox, the relay woken", async () => {
    const orderId = nextOrder++;
    await deliver(orderEvents.created(orderId, 8));
    await deliver(orderEvents.paid(orderId, 8));
    const wakes = h.wakes();
    const cancelled = await deliver(orderEvents.cancelled(orderId, 8, "payment refunded"));
    expect(cancelled.returnvalue).toEqual({ outcome: "applied", events: 1 });
    expect(await f.row(orderId)).toMatchObject({ status: "canceled" });
    expect(await f.outbox()).toEqual([{ type: "delivery.canceled", payload: { order_id: orderId, user_id: 8, reason: "payment refunded" } }]);
    expect(h.wakes()).toBe(wakes + 1);
  });
});

describe.skipIf(!redisUp)("each event applied once", () => {
  test("the same event twice (a redelivery under another job id): the second is a no-op", async () => {
    const orderId = nextOrder++;
    const created = orderEvents.created(orderId);
    await deliver(created);
    const cancel = orderEvents.cancelled(orderId);
    expect((await deliver(cancel)).returnvalue).toEqual({ outcome: "applied", events: 1 });
    const before = await f.row(orderId);

    expect((await deliver(cancel, randomUUID())).returnvalue).toEqual({ outcome: "duplicate", events: 0 });
    expect((await deliver(created, randomUUID())).returnvalue).toEqual({ outcome: "duplicate", events: 0 });
    expect(await f.row(orderId)).toEqual(before);
    expect(await f.history(orderId)).toHaveLength(2);
    expect((await f.outbox()).map((e) => e.type)).toEqual(["delivery.canceled"]);
    expect(await processed(cancel.event_id)).toEqual(["applied"]);
  });

  test("the same event added twice under its own id while the first is kept: BullMQ keeps one job", async () => {
    const orderId = nextOrder++;
    const created = orderEvents.created(orderId);
    await deliver(created);
    await h.add(created);
    expect((await h.settled(created.event_id)).returnvalue).toEqual({ outcome: "created", events: 0 });
    expect(await f.history(orderId)).toHaveLength(1);
  });

  test("a second order.created for the same order (another event id): ignored, the delivery as it was", async () => {
    const orderId = nextOrder++;
    await deliver(orderEvents.created(orderId, 3));
    const again = await deliver(orderEvents.created(orderId, 4));
    expect(again.returnvalue!.outcome).toStartWith("ignored");
    expect(await f.row(orderId)).toMatchObject({ user_id: 3, version: 1 });
  });

  test("order.paid twice with different ids (the saga retried): activated once, the second ignored", async () => {
    const orderId = nextOrder++;
    await deliver(orderEvents.created(orderId));
    await deliver(orderEvents.paid(orderId));
    const second = await deliver(orderEvents.paid(orderId));
    expect(second.returnvalue!.outcome).toBe("ignored: cannot activate a delivery that is activated");
    expect(await f.row(orderId)).toMatchObject({ status: "activated", version: 2 });
  });
});

describe.skipIf(!redisUp)("out of order", () => {
  test("paid before created: kept, then applied with the create: activated", async () => {
    const orderId = nextOrder++;
    const paid = await deliver(orderEvents.paid(orderId));
    expect(paid.returnvalue).toEqual({ outcome: "deferred: no delivery yet", events: 0 });
    expect(await f.row(orderId)).toBeUndefined();
    expect(await earlyEvents(orderId)).toEqual(["order.paid"]);

    const created = await deliver(orderEvents.created(orderId));
    expect(created.returnvalue).toEqual({ outcome: "created, then order.paid applied", events: 0 });
    expect(await f.row(orderId)).toMatchObject({ status: "activated", version: 2 });
    expect((await f.history(orderId)).map((h) => h.by)).toEqual(["event order.created", "event order.paid (arrived before order.created)"]);
    expect(await earlyEvents(orderId)).toEqual([]);
  });

  test("cancelled before created: canceled once created, with delivery.canceled", async () => {
    const orderId = nextOrder++;
    await deliver(orderEvents.cancelled(orderId, 42, "out of stock"));
    await deliver(orderEvents.created(orderId));
    expect(await f.row(orderId)).toMatchObject({ status: "canceled" });
    expect(await f.outbox()).toEqual([{ type: "delivery.canceled", payload: { order_id: orderId, user_id: 42, reason: "out of stock" } }]);
  });

  test("cancelled, then paid, then created: the payment goes first, then the cancel: canceled", async () => {
    const orderId = nextOrder++;
    await deliver(orderEvents.cancelled(orderId));
    await deliver(orderEvents.paid(orderId));
    const created = await deliver(orderEvents.created(orderId));
    expect(created.returnvalue!.outcome).toBe("created, then order.paid applied, order.cancelled applied");
    expect((await f.history(orderId)).map((h) => h.to_status)).toEqual(["created", "activated", "canceled"]);
  });

  test("created and paid of thirty orders all at once, in either order: every delivery ends activated, no event lost", async () => {
    const orders = Array.from({ length: 30 }, () => nextOrder++);
    const events = orders.flatMap((id, i) => (i % 2 ? [orderEvents.paid(id), orderEvents.created(id)] : [orderEvents.created(id), orderEvents.paid(id)]));
    await Promise.all(events.map((e) => h.add(e)));
    const jobs = await Promise.all(events.map((e) => h.settled(e.event_id, 20_000)));
    expect(await Promise.all(jobs.map((j) => j.getState()))).toEqual(Array(events.length).fill("completed"));
    const rows = await f.sql<{ status: string }[]>`select status from deliveries where order_id = any(${f.sql.array(orders)}::int[])`;
    expect(rows.map((r) => r.status)).toEqual(Array(30).fill("activated"));
    expect((await f.sql`select 1 from early_events where order_id = any(${f.sql.array(orders)}::int[])`).length).toBe(0);
  });
});

describe.skipIf(!redisUp)("late and unknown", () => {
  test("cancelled after done: recorded, the delivery stays done, no delivery.canceled", async () => {
    const orderId = nextOrder++;
    await deliver(orderEvents.created(orderId));
    await deliver(orderEvents.paid(orderId));
    await f.move(orderId, { action: "assign", courier: COURIER_ONE });
    await f.move(orderId, { action: "complete", courier_id: COURIER_ONE.courier_id });
    await f.resetOutbox();
    const before = await f.row(orderId);

    const cancel = orderEvents.cancelled(orderId);
    const job = await deliver(cancel);
    expect(await job.getState()).toBe("completed");
    expect(job.returnvalue).toEqual({ outcome: "ignored: cannot cancel a delivery that is done", events: 0 });
    expect(await f.row(orderId)).toEqual(before);
    expect(await f.outbox()).toEqual([]);
    expect(await processed(cancel.event_id)).toEqual(["ignored: cannot cancel a delivery that is done"]);
  });

  test("paid for an order never created: no delivery, the job completes at its first attempt (no retry storm)", async () => {
    const orderId = 900_000;
    const job = await deliver(orderEvents.paid(orderId));
    expect(await job.getState()).toBe("completed");
    expect(job.attemptsMade).toBeLessThanOrEqual(1);
    expect(job.failedReason).toBeFalsy();
    expect(await f.row(orderId)).toBeUndefined();
    expect(await earlyEvents(orderId)).toEqual(["order.paid"]);
    expect(h.logs.filter((l) => l.msg.includes("failed") && l.job_id === job.id)).toEqual([]);
  });
});

describe.skipIf(!redisUp)("poison jobs: dead-lettered at their first attempt, never retried", () => {
  const valid = orderEvents.paid(1);
  const POISON: [string, string, unknown, string][] = [
    ["a payload with a string order id", "order.paid", { ...valid, event_id: randomUUID(), payload: { ...valid.payload, order_id: "7" } }, "invalid data"],
    ["an order id past an int", "order.paid", { ...valid, event_id: randomUUID(), payload: { ...valid.payload, order_id: 2 ** 31 } }, "invalid data"],
    ["an event id that is no uuid", "order.paid", { ...valid, event_id: "not-a-uuid" }, "invalid data"],
    ["a day that does not exist", "order.created", { ...orderEvents.created(1), payload: { ...orderEvents.created(1).payload, delivery_date: "2031-02-30" } }, "invalid data"],
    ["no data at all", "order.cancelled", null, "invalid data"],
    ["data of another type than its name", "order.paid", orderEvents.cancelled(1), "invalid data"],
    ["a name with no handler", "order.shipped", { ...valid, type: "order.shipped" }, "no handler for order.shipped"],
    ["a name from Object.prototype", "constructor", valid, "no handler for constructor"],
  ];

  for (const [what, name, data, reason] of POISON) {
    test(`${what}: failed once, kept as a dead letter, nothing written`, async () => {
      const before = await f.sql`select count(*)::int as n from processed_events`;
      const job = await h.addRaw(name, data);
      const settled = await h.settled(job.id!);
      expect(await settled.getState()).toBe("failed");
      expect(settled.attemptsMade).toBe(1);
      expect(settled.failedReason).toContain(reason);
      expect(h.logs.filter((l) => l.job_id === job.id && l.msg.startsWith("order event dead-lettered"))).toHaveLength(1);
      expect(await f.sql`select count(*)::int as n from processed_events`).toEqual(before);
      expect(await f.outbox()).toEqual([]);
    });
  }
});
