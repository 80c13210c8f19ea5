// Checkout's Idempotency-Key handling against a real Postgres, the other services stood in for in memory:
// one order per key whatever arrives at once, the stored answer replayed, a reused key refused, a key freed
// when nothing was written, and keys left behind by a request that died.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { migrate } from "@storefront/shared/db/migrate";
import { createLogger } from "@storefront/shared/observability/logger";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createCheckout, requestHash, type CheckoutRequest } from "./checkout.ts";
import { getOrder } from "./db/orders.ts";
import { createSagaRunner, type SagaRunner } from "./saga/runner.ts";
import { createFakeClients } from "./testing/fake-clients.ts";

let db: TestDatabase;
const logger = createLogger("orders", "silent");
const BODY: CheckoutRequest = { shipping_address: { name: "A", line1: "B", city: "C", postal_code: "1", country: "DE" }, card_token: "tok_visa" };

beforeAll(async () => {
  db = await createTestDatabase("orders_checkout");
  await migrate(db.sql, fileURLToPath(new URL("./db/migrations", import.meta.url)));
});
afterAll(() => db.drop());
beforeEach(async () => {
  await db.sql`truncate orders, order_items, saga_log, idempotency_keys, outbox restart identity cascade`;
});

function setUp(options: { waitMs?: number; runner?: SagaRunner } = {}) {
  const fake = createFakeClients({ carts: { 7: [{ product_id: 1, quantity: 2 }, { product_id: 2, quantity: 1 }] } });
  const runner = options.runner ?? createSagaRunner({ sql: db.sql, clients: fake.clients, logger, sleep: async () => {} });
  const checkout = createCheckout({ sql: db.sql, clients: fake.clients, runner, logger, waitMs: options.waitMs ?? 2000 });
  return { fake, checkout };
}

const orderCount = async () => (await db.sql<{ n: number }[]>`select count(*)::int as n from orders`)[0]!.n;
const keyCount = async () => (await db.sql<{ n: number }[]>`select count(*)::int as n from idempotency_keys`)[0]!.n;

describe("checkout", () => {
  test("prices come from products, not the client; the answer is stored and replayed", async () => {
    const { checkout } = setUp();
    const first = await checkout(7, "k1", BODY);
    expect(first).toMatchObject({
      status: 201,
      replayed: false,
      body: { status: "confirmed", total_cents: 2 * 500 + 250, items: [{ product_id: 1, quantity: 2, price_cents: 500 }, { product_id: 2, quantity: 1, price_cents: 250 }] },
    });
    const again = await checkout(7, "k1", BODY);
    expect(again).toEqual({ ...first, replayed: true });
    expect(await orderCount()).toBe(1);
  });

  test("20 at once with one key: one order, one charge, the same answer for all", async () => {
    const { checkout, fake } = setUp();
    const answers = await Promise.all(Array.from({ length: 20 }, () => checkout(7, "same", BODY)));
    for (const a of answers) expect({ status: a.status, body: a.body }).toEqual({ status: answers[0]!.status, body: answers[0]!.body });
    expect(answers.filter((a) => !a.replayed)).toHaveLength(1);
    expect(await orderCount()).toBe(1);
    expect(fake.effects.filter((e) => e.startsWith("charge"))).toHaveLength(1);
  });

  test("the same key per user only: another user's same key is another order", async () => {
    const { checkout, fake } = setUp();
    fake.carts.set(8, [{ product_id: 1, quantity: 1 }]);
    await checkout(7, "shared", BODY);
    expect((await checkout(8, "shared", BODY)).replayed).toBe(false);
    expect(await orderCount()).toBe(2);
  });

  test("the same key with another body is 422 IDEMPOTENCY_KEY_REUSED", async () => {
    const { checkout } = setUp();
    await checkout(7, "k2", BODY);
    await expect(checkout(7, "k2", { ...BODY, card_token: "tok_decline" })).rejects.toMatchObject({ status: 422, code: "IDEMPOTENCY_KEY_REUSED" });
    expect(requestHash(BODY)).toBe(requestHash({ card_token: "tok_visa", shipping_address: { country: "DE", postal_code: "1", city: "C", line1: "B", name: "A" } }));
  });

  test("an empty cart is 400 CART_EMPTY; nothing is written and the key is free for the retry", async () => {
    const { checkout, fake } = setUp();
    fake.carts.set(7, []);
    await expect(checkout(7, "k3", BODY)).rejects.toMatchObject({ status: 400, code: "CART_EMPTY" });
    expect(await keyCount()).toBe(0);
    fake.carts.set(7, [{ product_id: 1, quantity: 1 }]);
    expect((await checkout(7, "k3", BODY)).status).toBe(201);
  });

  test("cart or products unreachable: 503, nothing written, the key free", async () => {
    const { checkout, fake } = setUp();
    fake.fail("cart", "timeout");
    await expect(checkout(7, "k4", BODY)).rejects.toMatchObject({ status: 503, code: "UPSTREAM_UNAVAILABLE" });
    fake.fail("prices", "error");
    await expect(checkout(7, "k4", BODY)).rejects.toMatchObject({ status: 503 });
    expect(await orderCount()).toBe(0);
    expect(await keyCount()).toBe(0);
  });

  test("a product no longer sold is 409 naming it; nothing written", async () => {
    const { checkout, fake } = setUp();
    fake.carts.set(7, [{ product_id: 1, quantity: 1 }, { product_id: 99, quantity: 1 }]);
    await expect(checkout(7, "k5", BODY)).rejects.toMatchObject({ status: 409, code: "CONFLICT", details: { product_ids: [99] } });
    expect(await orderCount()).toBe(0);
  });

  test("a saga that does not end within the wait: 202 pending; a duplicate meanwhile waits, then gets the same", async () => {
    let release!: () => void;
    const hanging: SagaRunner = { run: () => new Promise<void>((resolve) => (release = resolve)), start() {}, async stop() {} };
    const { checkout } = setUp({ waitMs: 100, runner: hanging });
    const [a, b] = await Promise.all([checkout(7, "slow", BODY), checkout(7, "slow", BODY)]);
    expect(a.status).toBe(202);
    expect(b).toMatchObject({ status: 202, body: a.body });
    release();
  });

  test("while the first request is still running past the duplicate's wait: 409 IDEMPOTENCY_IN_PROGRESS with Retry-After", async () => {
    const { checkout, fake } = setUp({ waitMs: 50 });
    // The first request hangs in its cart read (the duplicate waits waitMs + 2 s for it).
    let unblock!: () => void;
    const cart = fake.clients.cart;
    fake.clients.cart = (userId) => new Promise((resolve) => (unblock = () => resolve(cart(userId)))) as never;
    const first = checkout(7, "stuck", BODY);
    await Bun.sleep(20);
    await expect(checkout(7, "stuck", BODY)).rejects.toMatchObject({ status: 409, code: "IDEMPOTENCY_IN_PROGRESS", headers: { "retry-after": "1" } });
    unblock();
    expect((await first).status).toBe(201);
  });

  test("a first request that died after creating the order: a retry answers from the order, and it is stored", async () => {
    const { checkout } = setUp();
    const placed = await checkout(7, "died", BODY);
    // As if it had died before storing its answer, and its claim had run out.
    await db.sql`update idempotency_keys set response_status = null, response_body = null, claimed_until = now() - interval '1 second'`;
    const retry = await checkout(7, "died", BODY);
    expect(retry).toMatchObject({ status: 201, body: placed.body, replayed: true });
    expect(await orderCount()).toBe(1);
  });

  test("a first request that died before creating anything: the key is taken over after its claim", async () => {
    const { checkout } = setUp();
    await db.sql`insert into idempotency_keys (user_id, key, request_hash, claimed_until) values (7, 'orphan', ${requestHash(BODY)}, now() - interval '1 second')`;
    const res = await checkout(7, "orphan", BODY);
    expect(res).toMatchObject({ status: 201, replayed: false });
    expect(await getOrder(db.sql, (res.body as { order_id: number }).order_id)).toMatchObject({ status: "confirmed" });
  });

  test("a key older than 24 h is free again", async () => {
    const { checkout, fake } = setUp();
    await checkout(7, "old", BODY);
    await db.sql`update idempotency_keys set created_at = now() - interval '25 hours'`;
    fake.carts.set(7, [{ product_id: 1, quantity: 1 }]); // the first order cleared it
    expect((await checkout(7, "old", { ...BODY, card_token: "tok_decline" })).replayed).toBe(false);
    expect(await orderCount()).toBe(2);
  });
});
