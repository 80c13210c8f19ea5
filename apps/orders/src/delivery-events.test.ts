// Delivery events through the in-process worker (real Postgres, real Redis): what each event does to the order
// and what the customer then reads on GET /users/:id/orders/:order_id, each event applied once however often
// its job arrives or runs, events in either order, orders that are not (or no longer) confirmed, and jobs that
// cannot succeed dead-lettered at their first attempt while a database outage is retried.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { migrate } from "@storefront/shared/db/migrate";
import { createLogger } from "@storefront/shared/observability/logger";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestIssuer, type TestIssuer } from "@storefront/shared/testing/token-issuer";
import { requireRedis } from "@storefront/shared/testing/test-redis";
import { createApp } from "./app.ts";
import { getOrder, listHistory } from "./db/orders.ts";
import { createSagaRunner } from "./saga/runner.ts";
import { createFakeClients } from "./testing/fake-clients.ts";
import { assigned, canceled, done, placeOrder, startDeliveryHarness, type DeliveryHarness } from "./testing/delivery-events-harness.ts";

const redisUp = await requireRedis("orders: delivery events");
const logger = createLogger("orders", "silent");
const USER = 41;

let db: TestDatabase;
let issuer: TestIssuer;
let h: DeliveryHarness | undefined;
beforeAll(async () => {
  db = await createTestDatabase("orders_delivery_events");
  await migrate(db.sql, fileURLToPath(new URL("./db/migrations", import.meta.url)));
  issuer = await createTestIssuer();
});
beforeEach(async () => {
  await db.sql`truncate orders, order_items, saga_log, idempotency_keys, outbox, processed_events restart identity cascade`;
});
afterEach(async () => {
  await h?.close();
  h = undefined;
});
afterAll(() => db?.drop());

const harness = async (options?: { concurrency?: number }) => (h = await startDeliveryHarness(db.sql, options));
const statusOf = async (orderId: number) => (await getOrder(db.sql, orderId))!.status;
const lines = async (orderId: number) => (await listHistory(db.sql, orderId)).map((e) => (e.detail ? `${e.step}: ${e.detail}` : e.step));
const processed = async () => (await db.sql<{ n: number }[]>`select count(*)::int as n from processed_events`)[0]!.n;

/** The orders app as index.ts builds it, minus the saga's remote calls (none are made by these reads). */
function app() {
  const fake = createFakeClients();
  const runner = createSagaRunner({ sql: db.sql, clients: fake.clients, logger, sleep: async () => {} });
  return createApp({ sql: db.sql, verifier: issuer.verifier, clients: fake.clients, runner, checkoutWaitMs: 500 });
}
async function get(path: string, userId = USER) {
  const res = await app().request(path, { headers: await issuer.auth(userId) });
  return { status: res.status, body: (await res.json()) as any };
}

describe.skipIf(!redisUp)("delivery events on the order", () => {
  test("delivery.assigned on a confirmed order: shipped, the courier named in the history and in the order's delivery", async () => {
    await harness();
    const orderId = await placeOrder(db.sql, USER);
    const event = assigned(orderId, USER, "Courier One");
    const job = await h!.settled((await h!.add(event)).id!);
    expect(await job.getState()).toBe("completed");
    expect(job.returnvalue).toEqual({ applied: true, order_status: "shipped", moved: true });

    const { status, body } = await get(`/users/${USER}/orders/${orderId}`);
    expect(status).toBe(200);
    expect(body.status).toBe("shipped");
    expect(body.delivery).toEqual({ status: "activated", courier_name: "Courier One", updated_at: new Date(event.occurred_at).toISOString() });
    expect(body.history.map((e: any) => [e.step, e.outcome, e.detail])).toEqual([["shipped", "succeeded", "courier Courier One has it"]]);
    // The list stays as it was: no delivery there.
    const list = await get(`/users/${USER}/orders`);
    expect(list.body.orders).toEqual([{ order_id: orderId, status: "shipped", total_cents: 1000, item_count: 2, created_at: expect.any(String) }]);
  });

  test("an order nothing was heard about yet shows delivery: null", async () => {
    const orderId = await placeOrder(db.sql, USER);
    expect((await get(`/users/${USER}/orders/${orderId}`)).body.delivery).toBeNull();
  });

  test("delivery.done on a shipped order: delivered, with its history line; the delivery is done and keeps the courier", async () => {
    await harness();
    const orderId = await placeOrder(db.sql, USER);
    await h!.settled((await h!.add(assigned(orderId, USER))).id!);
    const event = done(orderId, USER);
    const job = await h!.settled((await h!.add(event)).id!);
    expect(job.returnvalue).toEqual({ applied: true, order_status: "delivered", moved: true });
    const { body } = await get(`/users/${USER}/orders/${orderId}`);
    expect(body.status).toBe("delivered");
    expect(body.delivery).toEqual({ status: "done", courier_name: "Courier One", updated_at: new Date(event.occurred_at).toISOString() });
    expect(await lines(orderId)).toEqual(["shipped: courier Courier One has it", "delivered"]);
  });

  test("delivery.done before the assignment was heard: confirmed -> delivered; the late assignment only fills in the courier", async () => {
    await harness();
    const orderId = await placeOrder(db.sql, USER);
    const doneEvent = done(orderId, USER);
    expect((await h!.settled((await h!.add(doneEvent)).id!)).returnvalue).toEqual({ applied: true, order_status: "delivered", moved: true });
    const late = await h!.settled((await h!.add(assigned(orderId, USER, "Courier Two", 2))).id!);
    expect(late.returnvalue).toEqual({ applied: true, order_status: "delivered", moved: false });
    const { body } = await get(`/users/${USER}/orders/${orderId}`);
    expect(body.status).toBe("delivered");
    expect(body.delivery).toEqual({ status: "done", courier_name: "Courier Two", updated_at: new Date(doneEvent.occurred_at).toISOString() });
    expect(await lines(orderId)).toEqual(["delivered"]);
  });

  test("delivery.canceled is recorded on the order and changes its status in no way", async () => {
    await harness();
    const orderId = await placeOrder(db.sql, USER, "cancelled");
    const job = await h!.settled((await h!.add(canceled(orderId, USER))).id!);
    expect(job.returnvalue).toEqual({ applied: true, order_status: "cancelled", moved: false });
    const { body } = await get(`/users/${USER}/orders/${orderId}`);
    expect(body.status).toBe("cancelled");
    expect(body.delivery).toMatchObject({ status: "canceled", courier_name: null });
    expect(await lines(orderId)).toEqual([]);
  });

  test.each(["cancelled", "cancelling"] as const)("a late delivery.assigned for an order %s meanwhile does not ship it", async (status) => {
    await harness();
    const orderId = await placeOrder(db.sql, USER, status);
    const job = await h!.settled((await h!.add(assigned(orderId, USER))).id!);
    expect(job.returnvalue).toEqual({ applied: true, order_status: status, moved: false });
    expect(await statusOf(orderId)).toBe(status);
    expect(await lines(orderId)).toEqual([]);
    // delivery.done cannot move it either (the delivery service refuses done after a cancel, but events are data).
    await h!.settled((await h!.add(done(orderId, USER))).id!);
    expect(await statusOf(orderId)).toBe(status);
  });

  test("delivery.assigned while the saga is still going forward: the order stays pending, then ships the moment the saga confirms it", async () => {
    await harness();
    const orderId = await placeOrder(db.sql, USER, "pending");
    const job = await h!.settled((await h!.add(assigned(orderId, USER))).id!);
    expect(job.returnvalue).toEqual({ applied: true, order_status: "pending", moved: false });
    expect(await statusOf(orderId)).toBe("pending");

    const fake = createFakeClients({ carts: { [USER]: [{ product_id: 1, quantity: 2 }] } });
    await createSagaRunner({ sql: db.sql, clients: fake.clients, logger, sleep: async () => {} }).run(orderId);
    expect(await statusOf(orderId)).toBe("shipped");
    expect((await lines(orderId)).slice(-2)).toEqual(["confirm", "shipped: courier Courier One has it"]);
  });

  test("cancelling a shipped or delivered order stays 409 NOT_CANCELLABLE, and nothing changes", async () => {
    await harness();
    for (const events of [[assigned], [assigned, done]]) {
      const orderId = await placeOrder(db.sql, USER);
      for (const event of events) await h!.settled((await h!.add(event(orderId, USER))).id!);
      const before = await getOrder(db.sql, orderId);
      const res = await app().request(`/users/${USER}/orders/${orderId}/cancel`, { method: "POST", headers: await issuer.auth(USER) });
      expect(res.status).toBe(409);
      expect(((await res.json()) as any).error.code).toBe("NOT_CANCELLABLE");
      expect(await getOrder(db.sql, orderId)).toEqual(before);
    }
  });
});

describe.skipIf(!redisUp)("each delivery event applied once", () => {
  test("the same event id again: ignored while the job is kept, and a duplicate (no change) after a re-run or a re-publish", async () => {
    await harness();
    const orderId = await placeOrder(db.sql, USER);
    const event = assigned(orderId, USER);
    const job = await h!.settled((await h!.add(event)).id!);
    const finishedOn = job.finishedOn;

    // The relay re-publishing after a crash: BullMQ drops the add while the completed job is kept.
    await h!.add(event);
    expect((await h!.settled(event.event_id)).finishedOn).toBe(finishedOn);

    // A stalled job run again: processed_events has its id.
    await job.retry("completed");
    await h!.settled(event.event_id);
    expect((await h!.producer.getJob(event.event_id))!.returnvalue).toEqual({ applied: false, reason: "duplicate" });

    // A re-publish once the completed job has aged out: a fresh job, same event id, still nothing new.
    await (await h!.producer.getJob(event.event_id))!.remove();
    const republished = await h!.settled((await h!.add(event)).id!);
    expect(republished.returnvalue).toEqual({ applied: false, reason: "duplicate" });

    expect(await lines(orderId)).toEqual(["shipped: courier Courier One has it"]);
    expect(await processed()).toBe(1);
  });

  test("assigned and done of 20 orders all at once (the worker runs jobs in parallel): every order delivered, its lines once each", async () => {
    await harness({ concurrency: 16 });
    const orderIds = await Promise.all(Array.from({ length: 20 }, () => placeOrder(db.sql, USER)));
    const events = orderIds.flatMap((id) => [assigned(id, USER), done(id, USER)]);
    await h!.producer.addBulk(events.map((e) => ({ name: e.type, data: e, opts: { jobId: e.event_id, attempts: 5 } })));
    for (const e of events) expect(await (await h!.settled(e.event_id)).getState()).toBe("completed");
    for (const id of orderIds) {
      expect(await getOrder(db.sql, id)).toMatchObject({ status: "delivered", delivery_status: "done", delivery_courier: "Courier One" });
      // Either order of arrival is right: shipped then delivered, or delivered straight from confirmed.
      expect([["shipped: courier Courier One has it", "delivered"], ["delivered"]]).toContainEqual(await lines(id));
    }
    expect(await processed()).toBe(40);
  });
});

describe.skipIf(!redisUp)("delivery jobs that cannot succeed are dead letters at their first attempt", () => {
  const valid = () => assigned(1, USER);
  /** Failed at its first attempt with nothing scheduled to run it again. */
  async function expectDeadLettered(jobId: string) {
    const job = await h!.settled(jobId);
    expect(await job.getState()).toBe("failed");
    expect(job.attemptsMade).toBe(1);
    expect(await h!.producer.getDelayedCount()).toBe(0);
    expect(await h!.producer.getWaitingCount()).toBe(0);
    return job;
  }

  test.each([
    ["assigned without a courier name", "delivery.assigned", (e: any) => ({ ...e, payload: { ...e.payload, courier_name: undefined } })],
    ["assigned with a blank courier name", "delivery.assigned", (e: any) => ({ ...e, payload: { ...e.payload, courier_name: "  " } })],
    ["assigned with user 0", "delivery.assigned", (e: any) => ({ ...e, payload: { ...e.payload, user_id: 0 } })],
    ["assigned with a string order id", "delivery.assigned", (e: any) => ({ ...e, payload: { ...e.payload, order_id: "1" } })],
    ["an event id that is not a uuid", "delivery.assigned", (e: any) => ({ ...e, event_id: "evt-1" })],
    ["no occurred_at", "delivery.assigned", (e: any) => ({ ...e, occurred_at: undefined })],
    ["no payload at all", "delivery.assigned", (e: any) => ({ ...e, payload: undefined })],
    ["done without a courier", "delivery.done", (e: any) => ({ ...e, type: "delivery.done", payload: { order_id: 1, user_id: USER } })],
    ["canceled without a reason", "delivery.canceled", (e: any) => ({ ...e, type: "delivery.canceled", payload: { order_id: 1, user_id: USER } })],
    ["a job named delivery.done carrying an assignment", "delivery.done", (e: any) => e],
  ])("bad data: %s", async (_name, jobName, mangle) => {
    await harness();
    const orderId = await placeOrder(db.sql, USER);
    const before = await getOrder(db.sql, orderId);
    const data = mangle({ ...valid(), payload: { ...valid().payload, order_id: orderId } });
    const jobId = crypto.randomUUID();
    await h!.producer.add(jobName, data, { attempts: 5, jobId });
    const job = await expectDeadLettered(jobId);
    expect(job.failedReason).toStartWith(`job ${jobName} has invalid data: `);
    expect(await getOrder(db.sql, orderId)).toEqual(before);
    expect(await processed()).toBe(0);
  });

  test.each(["order.created", "order.confirmed", "toString"])("a job named %s has no handler here: 'no handler', not retried", async (name) => {
    await harness();
    const jobId = crypto.randomUUID();
    await h!.producer.add(name, { event_id: jobId }, { attempts: 5, jobId });
    expect((await expectDeadLettered(jobId)).failedReason).toBe(`no handler for ${name}`);
  });

  test("an order this service does not have: dead letter naming it, its event id not marked as applied", async () => {
    await harness();
    const event = assigned(999_999, USER);
    const job = await expectDeadLettered((await h!.add(event)).id!);
    expect(job.failedReason).toBe(`delivery.assigned ${event.event_id}: no order 999999`);
    expect(await processed()).toBe(0);
  });

  test("an event naming another user than the order's: dead letter, the order unchanged", async () => {
    await harness();
    const orderId = await placeOrder(db.sql, USER);
    const job = await expectDeadLettered((await h!.add(assigned(orderId, USER + 1))).id!);
    expect(job.failedReason).toContain(`order ${orderId} is not user ${USER + 1}'s`);
    expect(await statusOf(orderId)).toBe("confirmed");
    expect(await processed()).toBe(0);
  });
});

describe.skipIf(!redisUp)("a database that does not answer", () => {
  test("the job is retried later (not dead-lettered): the outage is not the event's fault", async () => {
    // A pool on a port nothing listens on: every query fails with a connection error.
    const away = postgres("postgres://postgres@127.0.0.1:1/orders", { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      h = await startDeliveryHarness(away);
      const job = await h.producer.add("delivery.assigned", assigned(1, USER), { attempts: 3, backoff: { type: "fixed", delay: 60_000 }, jobId: crypto.randomUUID() });
      const deadline = Date.now() + 15_000;
      while ((await h.producer.getJobState(job.id!)) !== "delayed") {
        if (Date.now() > deadline) throw new Error(`job not scheduled for a retry; logs:\n${h.logs.join("\n")}`);
        await Bun.sleep(20);
      }
      const stored = (await h.producer.getJob(job.id!))!;
      expect(stored.attemptsMade).toBe(1);
      expect(stored.failedReason).toMatch(/ECONNREFUSED|connect/i);
    } finally {
      await h?.close();
      h = undefined;
      await away.end({ timeout: 1 });
    }
  });
});
