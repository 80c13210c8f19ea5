// The saga runner against a real Postgres, with the other services stood in for in memory
// (testing/fake-clients.ts, idempotent like the real ones): forward path, compensations, retries, a lost charge
// answer resolved by asking, a runner that dies at each step and another that takes over, and a customer's
// cancel arriving while the saga runs.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { migrate } from "@storefront/shared/db/migrate";
import { createLogger } from "@storefront/shared/observability/logger";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { getOrder, insertOrder, listHistory } from "../db/orders.ts";
import { requestCancel } from "../db/saga.ts";
import { createFakeClients } from "../testing/fake-clients.ts";
import { createSagaRunner, parseCrashPoint, type SagaRunnerOptions } from "./runner.ts";

let db: TestDatabase;
const logger = createLogger("orders", "silent");
const ADDRESS = { name: "A", line1: "B", city: "C", postal_code: "1", country: "DE" };

beforeAll(async () => {
  db = await createTestDatabase("orders_saga");
  await migrate(db.sql, fileURLToPath(new URL("../db/migrations", import.meta.url)));
});
afterAll(() => db.drop());
beforeEach(async () => {
  await db.sql`truncate orders, order_items, saga_log, idempotency_keys, outbox restart identity cascade`;
});

const place = async (card = "tok_visa", items = [{ product_id: 1, quantity: 2, price_cents: 500 }]) =>
  (
    await db.sql.begin((tx) =>
      insertOrder(tx, { user_id: 7, total_cents: items.reduce((s, i) => s + i.quantity * i.price_cents, 0), shipping_address: ADDRESS, delivery_date: null, card_token: card, items }),
    )
  ).order_id;

const runner = (fake: ReturnType<typeof createFakeClients>, options: Partial<SagaRunnerOptions> = {}) =>
  createSagaRunner({ sql: db.sql, clients: fake.clients, logger, sleep: async () => {}, leaseMs: 200, ...options });

const events = async () => (await db.sql<{ type: string; payload: any }[]>`select type, payload from outbox order by created_at, id`).map((e) => e.type);
const steps = async (orderId: number) => (await listHistory(db.sql, orderId)).map((h) => `${h.step}:${h.outcome}`);

/** A kill that does what SIGKILL does to the runner's process: the drive stops there, nothing after it runs. */
class Killed extends Error {}
const killer = () => () => {
  throw new Killed("killed");
};

describe("the saga", () => {
  test("forward: reserve, charge, commit, clear the cart, confirm; order.paid and order.confirmed written", async () => {
    const fake = createFakeClients({ carts: { 7: [{ product_id: 1, quantity: 2 }] } });
    const id = await place();
    await runner(fake).run(id);
    const order = (await getOrder(db.sql, id))!;
    expect(order).toMatchObject({ status: "confirmed", step: "done", payment_id: expect.any(String), charge_attempted: true });
    expect(fake.effects).toEqual([`reserve ${id}`, `charge ${id}`, `commit ${id}`, `clear ${id}`]);
    // (checkout.ts writes "placed" and "reserve:started" with the order; this test inserts the order bare)
    expect(await steps(id)).toEqual([
      "reserve:succeeded", "charge:started", "charge:succeeded", "commit:started", "commit:succeeded",
      "clear_cart:started", "clear_cart:succeeded", "confirm:succeeded",
    ]);
    expect(await events()).toEqual(["order.paid", "order.confirmed"]);
  });

  test("declined: compensates (release) and ends cancelled with the reason; no refund of a declined charge", async () => {
    const fake = createFakeClients();
    const id = await place("tok_decline");
    await runner(fake).run(id);
    expect(await getOrder(db.sql, id)).toMatchObject({ status: "cancelled", failure_code: "PAYMENT_DECLINED", cancel_reason: "payment declined (card_declined)" });
    expect(fake.effects).toEqual([`reserve ${id}`, `release ${id}`]);
    expect(fake.stock.get(1)).toBe(10);
    expect(await events()).toEqual(["order.cancelled"]);
  });

  test("out of stock: cancelled naming the products, nothing charged, release leaves a tombstone", async () => {
    const fake = createFakeClients({ stock: { 1: 1 } });
    const id = await place();
    await runner(fake).run(id);
    const order = (await getOrder(db.sql, id))!;
    expect(order).toMatchObject({ status: "cancelled", failure_code: "OUT_OF_STOCK", failure_details: { products: [{ product_id: 1, requested: 2, available: 1 }] } });
    expect(fake.calls).not.toContain("charge");
    expect(fake.reservations.get(id)?.status).toBe("released");
  });

  test("a transient failure is retried in process; past the in-process retries the sweeper takes it up", async () => {
    const fake = createFakeClients();
    const id = await place();
    fake.fail("commit", "error", "error", "error", "error");
    const r = runner(fake, { inProcessRetries: 2, sweepMs: 20 });
    await r.run(id);
    // Three attempts in this drive, then it let go with a backoff.
    expect(await getOrder(db.sql, id)).toMatchObject({ status: "pending", step: "commit", attempts: 3 });
    r.start();
    try {
      for (let i = 0; i < 200 && (await getOrder(db.sql, id))!.status === "pending"; i++) await Bun.sleep(25);
    } finally {
      await r.stop();
    }
    expect((await getOrder(db.sql, id))!.status).toBe("confirmed");
    expect(fake.effects.filter((e) => e.startsWith("charge"))).toHaveLength(1);
    expect((await steps(id)).filter((s) => s === "commit:retrying")).toHaveLength(4);
    // The history is the customer's to read: the service and what happened, not the runtime's message.
    const details = (await listHistory(db.sql, id)).filter((h) => h.outcome === "retrying").map((h) => h.detail);
    expect(new Set(details)).toEqual(new Set(["inventory could not be reached"]));
  });

  test("a charge whose answer was lost is resolved by asking payments: the charge is found, not repeated", async () => {
    const fake = createFakeClients();
    fake.loseNextChargeAnswer();
    const id = await place();
    await runner(fake).run(id);
    expect((await getOrder(db.sql, id))!.status).toBe("confirmed");
    expect(fake.effects.filter((e) => e.startsWith("charge"))).toHaveLength(1);
    expect(fake.calls.filter((c) => c === "payments")).toHaveLength(1);
    expect((await listHistory(db.sql, id)).find((h) => h.step === "charge" && h.outcome === "succeeded")?.detail).toContain("resolved");
  });

  test("while payments cannot say whether it charged, the saga waits; it never compensates on a guess", async () => {
    const fake = createFakeClients();
    fake.fail("charge", "timeout", "timeout", "timeout");
    fake.fail("payments", "error", "error", "error");
    const id = await place();
    await runner(fake, { inProcessRetries: 2 }).run(id);
    expect(await getOrder(db.sql, id)).toMatchObject({ status: "pending", step: "charge" });
    expect(fake.calls).not.toContain("release");
    expect((await steps(id)).filter((s) => s === "charge:retrying")).toHaveLength(3);
  });

  test.each(["reserve", "charge", "commit", "clear_cart"].flatMap((step) => [`${step}:before`, `${step}:after`]))(
    "a runner killed at %s: another runner resumes after the lease and every effect happens once",
    async (point) => {
      const fake = createFakeClients({ carts: { 7: [{ product_id: 1, quantity: 2 }] } });
      const id = await place();
      const dying = runner(fake, { crashAt: parseCrashPoint(point), kill: killer() });
      // The kill throws out of the drive; the runner logs it as a failed run. What matters is the stored state.
      await dying.run(id);
      // The lease a dead process still holds until it runs out (the drive's own release never runs after SIGKILL).
      await db.sql`update orders set lease_owner = 'dead-process', lease_until = now() + interval '200 milliseconds' where order_id = ${id}`;
      const next = runner(fake);
      await next.run(id);
      expect((await getOrder(db.sql, id))!.status).toBe("pending"); // its lease has not run out yet
      await Bun.sleep(250);
      await next.run(id);
      expect((await getOrder(db.sql, id))!.status).toBe("confirmed");
      expect(fake.effects).toEqual([`reserve ${id}`, `charge ${id}`, `commit ${id}`, `clear ${id}`]);
      expect(await events()).toEqual(["order.paid", "order.confirmed"]);
    },
  );

  test("the customer's cancel while the saga runs turns it around at the next step", async () => {
    const fake = createFakeClients();
    const id = await place();
    fake.fail("commit", "error");
    const r = runner(fake, { inProcessRetries: 0 });
    await r.run(id); // reserved and charged, commit failed once: pending at commit
    expect(await requestCancel(db.sql, 7, id)).toMatchObject({ status: "pending", cancel_requested: true });
    await r.run(id);
    const order = (await getOrder(db.sql, id))!;
    expect(order).toMatchObject({ status: "cancelled", cancel_reason: "at the customer's request" });
    expect(fake.effects).toEqual([`reserve ${id}`, `charge ${id}`, expect.stringMatching(/^refund /), `release ${id}`]);
  });

  test("cancelling a confirmed order refunds and returns the stock; it is not the other user's to cancel", async () => {
    const fake = createFakeClients();
    const id = await place();
    const r = runner(fake);
    await r.run(id);
    expect(await requestCancel(db.sql, 8, id)).toBeNull();
    expect(await requestCancel(db.sql, 7, id)).toMatchObject({ status: "cancelling", step: "refund" });
    await r.run(id);
    expect(await getOrder(db.sql, id)).toMatchObject({ status: "cancelled" });
    expect(fake.stock.get(1)).toBe(10);
    expect(fake.payments.get(id)!.map((p) => p.status)).toEqual(["refunded"]);
    expect(await events()).toEqual(["order.paid", "order.confirmed", "order.cancelled"]);
  });

  test("two runners on one saga: the lease lets one drive it; each effect once", async () => {
    const fake = createFakeClients();
    const id = await place();
    await Promise.all([runner(fake).run(id), runner(fake).run(id), runner(fake).run(id)]);
    // Whoever did not get the lease returned at once; run again until done (leases are 200 ms here).
    for (let i = 0; i < 20 && (await getOrder(db.sql, id))!.status !== "confirmed"; i++) {
      await Bun.sleep(50);
      await runner(fake).run(id);
    }
    expect((await getOrder(db.sql, id))!.status).toBe("confirmed");
    expect(fake.effects).toEqual([`reserve ${id}`, `charge ${id}`, `commit ${id}`, `clear ${id}`]);
  });

  test("ORDERS_CRASH_AT is parsed strictly", () => {
    expect(parseCrashPoint("charge:after")).toEqual({ step: "charge", when: "after" });
    expect(parseCrashPoint(undefined)).toBeUndefined();
    for (const bad of ["charge", "charge:during", "ship:before", "confirm:before"]) expect(() => parseCrashPoint(bad)).toThrow("ORDERS_CRASH_AT");
  });
});
