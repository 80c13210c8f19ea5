// Checkout end to end: every real app as its own process (real Postgres, real Redis), driven through the BFF
// like a client, with the orders process killed at each step of its saga, payments hanging past the step's
// deadline, orders down longer than a reservation lives, and many buyers after the same last units. What must
// hold every time: each order ends confirmed or cancelled, with exactly one charge (confirmed) or none left
// standing (cancelled), and the stock adds up.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { APPS, type AppName, type Ports } from "../scripts/apps.ts";
import { freshAuthSecrets, type AuthSecrets } from "../scripts/auth.ts";
import { waitUntilReady } from "../scripts/wait-ready.ts";
import { connectDatabase } from "../shared/src/db/connect.ts";
import { requireRedis } from "../shared/src/testing/test-redis.ts";
import { ADMIN_EMAIL, login, newCustomer, type Session } from "./support/accounts.ts";
import { documentedFetch } from "./support/contract.ts";
import { pollUntil } from "./support/poll.ts";
import { startProcess, type TestProcess } from "./support/processes.ts";
import { appProcessEnv, freshQueue, freshStorage, pickPorts, READY_TIMEOUT_MS, startApps, stopAll, usesRealPostgres, type QueueSpace, type Storage } from "./support/stack.ts";

const redisUp = await requireRedis("the checkout end-to-end tests");

// Short lease and sweep: a killed runner's sagas are resumed within about a second instead of 15 s.
const STACK_ENV = {
  SAGA_LEASE_MS: "1000",
  SAGA_SWEEP_MS: "100",
  SAGA_STEP_DEADLINE_MS: "1000",
  RESERVATION_SWEEP_MS: "100",
  // Many customers register from one address here.
  RATE_LIMIT_AUTH_IP: "1000/60",
  RATE_LIMIT_IP: "100000/60",
  RATE_LIMIT_USER: "100000/60",
};
const SETTLE_MS = 30_000;
const ADDRESS = { name: "Ada Lovelace", line1: "12 Analytical St", city: "London", postal_code: "N1 9GU", country: "GB" };

let ports: Ports;
let storage: Storage | undefined;
let queue: QueueSpace | undefined;
let secrets: AuthSecrets;
let apps: TestProcess[] = [];
let admin: Session;

beforeAll(async () => {
  if (!redisUp) return;
  ports = pickPorts();
  storage = await freshStorage("checkout");
  queue = freshQueue("checkout");
  secrets = await freshAuthSecrets();
  apps = await startApps(ports, stackEnv(), secrets);
  admin = await login(bffUrl(), ADMIN_EMAIL);
}, READY_TIMEOUT_MS + 30_000);

afterAll(async () => {
  await stopAll(apps);
  await queue?.cleanup();
  await storage?.cleanup();
}, 60_000);

const stackEnv = (): Record<string, string> => ({ ...storage!.env, ...queue!.env, ...STACK_ENV });
const bffUrl = () => `http://127.0.0.1:${ports.bff}`;
const bff = (path: string, init: RequestInit = {}) => documentedFetch(`${bffUrl()}${path}`, init);
const direct = (app: AppName, path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${ports[app]}${path}`, init);
const json = { "content-type": "application/json" };

type Answer = { status: number; body: any; headers: Headers };
const answer = async (res: Response): Promise<Answer> => ({ status: res.status, body: await res.json().catch(() => null), headers: res.headers });

/** Starts `name` again (after it was killed or stopped) with the stack's settings plus `extra`. */
async function restart(name: AppName, extra: Record<string, string> = {}) {
  const i = apps.findIndex((a) => a.name === name);
  await apps[i]!.stop();
  const entry = APPS.find((a) => a.name === name)!.entry;
  apps[i] = startProcess(name, [entry], { ...appProcessEnv(name, ports, stackEnv(), secrets), ...extra });
  await waitUntilReady(`http://127.0.0.1:${ports[name]}/ready`, { timeoutMs: 30_000 });
  return apps[i]!;
}

async function setStock(productId: number, inventory: number) {
  const res = await bff(`/admin/products/${productId}/inventory`, { method: "PUT", headers: { ...json, ...admin.auth }, body: JSON.stringify({ inventory }) });
  expect(res.status).toBe(200);
}

type Stock = { inventory: number; on_hand: number; reserved: number };
const stockOf = async (productId: number): Promise<Stock> => {
  const { inventory, on_hand, reserved } = (await (await direct("inventory", `/products/${productId}/inventory`)).json()) as Stock;
  return { inventory, on_hand, reserved };
};

/** A new customer with `quantity` of `productId` in the cart. */
async function buyer(label: string, productId: number, quantity = 1) {
  const session = await newCustomer(bffUrl(), label);
  const res = await bff("/cart", { method: "POST", headers: { ...json, ...session.auth }, body: JSON.stringify({ product_id: productId, quantity }) });
  expect(res.status).toBe(200);
  return session;
}

const checkout = async (session: Session, key: string, card = "tok_visa", body: Record<string, unknown> = {}) =>
  answer(
    await fetch(`${bffUrl()}/checkout`, {
      method: "POST",
      headers: { ...json, ...session.auth, "idempotency-key": key },
      body: JSON.stringify({ shipping_address: ADDRESS, card_token: card, ...body }),
    }),
  );

const orderOf = async (session: Session, orderId: number) => (await (await bff(`/orders/${orderId}`, { headers: session.auth })).json()) as any;

/** Waits until the order's saga has ended, and returns it. */
const settled = (session: Session, orderId: number) =>
  pollUntil(`order ${orderId} confirmed or cancelled`, SETTLE_MS, async () => {
    const order = await orderOf(session, orderId);
    return order.status === "confirmed" || order.status === "cancelled" ? order : undefined;
  }, 100);

/** The process ended by SIGKILL (Bun reports it as the signal, or as 128 + 9). */
async function expectKilled(proc: TestProcess) {
  const code = await proc.exitWithin(10_000);
  expect(proc.proc.signalCode === "SIGKILL" || code === 137).toBe(true);
}

const latestOrderId = async (session: Session) => {
  const list = (await (await bff("/orders", { headers: session.auth })).json()) as { orders: { order_id: number }[] };
  return list.orders[0]?.order_id;
};

/** The order's payments as payments records them (asked with the admin's token, as support would). */
const paymentsOf = async (orderId: number) =>
  (await (await direct("payments", `/payments?order_id=${orderId}`, { headers: admin.auth })).json()) as { payment_id: string; status: string }[];
const charged = (payments: { status: string }[]) => payments.filter((p) => p.status === "succeeded").length;

const cartOf = async (session: Session) => (await (await bff("/cart", { headers: session.auth })).json()) as { product_id: number; quantity: number }[];

const inboxTitles = async (session: Session) => {
  const body = (await (await bff("/notifications", { headers: session.auth })).json()) as { notifications?: { title: string }[] } | { title: string }[];
  const list = Array.isArray(body) ? body : (body.notifications ?? []);
  return list.map((n) => n.title);
};

describe.skipIf(!redisUp)("checkout through the BFF", () => {
  test("tok_visa: 201 confirmed, stock down, cart empty, a confirmation in the inbox; the same request again is the same answer", async () => {
    await setStock(1, 50);
    const session = await buyer("visa", 1, 3);
    const first = await checkout(session, "visa-1");
    expect(first.status).toBe(201);
    // Read before matching: bun 1.4.4's toMatchObject writes expect.any() into a received array's objects (checked).
    const price = first.body.items[0].price_cents as number;
    expect(first.body).toEqual({ order_id: expect.any(Number), status: "confirmed", total_cents: 3 * price, items: [{ product_id: 1, quantity: 3, price_cents: price }] });
    expect(price).toBeGreaterThan(0);
    expect(await stockOf(1)).toEqual({ inventory: 47, on_hand: 47, reserved: 0 });
    expect(await cartOf(session)).toEqual([]);
    expect(charged(await paymentsOf(first.body.order_id))).toBe(1);

    const again = await checkout(session, "visa-1");
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(charged(await paymentsOf(first.body.order_id))).toBe(1);

    const order = await orderOf(session, first.body.order_id);
    expect(order.history.map((h: any) => `${h.step}:${h.outcome}`)).toEqual(
      expect.arrayContaining(["placed:succeeded", "reserve:succeeded", "charge:succeeded", "commit:succeeded", "clear_cart:succeeded", "confirm:succeeded"]),
    );
    await pollUntil("the confirmation in the inbox", 10_000, async () => ((await inboxTitles(session)).includes(`Order #${first.body.order_id} confirmed`) ? true : undefined));
  }, 60_000);

  test("tok_decline: 402, stock back, cart kept, and the cancellation in the inbox", async () => {
    await setStock(2, 20);
    const session = await buyer("decline", 2, 2);
    const res = await checkout(session, "decline-1", "tok_decline");
    expect(res.status).toBe(402);
    const orderId = res.body.error.order_id as number;
    expect(orderId).toBeNumber();
    expect(res.body.error.code).toBe("PAYMENT_DECLINED");
    expect(await stockOf(2)).toEqual({ inventory: 20, on_hand: 20, reserved: 0 });
    expect(await cartOf(session)).toEqual([{ product_id: 2, quantity: 2 }]);
    const order = await settled(session, orderId);
    expect(order.status).toBe("cancelled");
    expect(order.cancel_reason).toContain("declined");
    expect((await checkout(session, "decline-1", "tok_decline")).status).toBe(402);
    await pollUntil("the cancellation in the inbox", 10_000, async () =>
      (await inboxTitles(session)).some((t) => t.startsWith(`Order #${orderId} cancelled:`)) ? true : undefined,
    );
  }, 60_000);

  test("50 customers buy the last 10 units at once: exactly 10 confirmed, 40 OUT_OF_STOCK, 10 charges, stock never negative", async () => {
    await setStock(7, 10);
    const buyers = await Promise.all(Array.from({ length: 50 }, (_, i) => buyer(`rush${i}`, 7, 1)));
    const answers = await Promise.all(buyers.map((b, i) => checkout(b, `rush-${i}`)));
    for (const a of answers) expect([201, 202, 409]).toContain(a.status);
    const outOfStock = answers.filter((a) => a.status === 409);
    for (const a of outOfStock) expect(a.body.error).toMatchObject({ code: "OUT_OF_STOCK", products: [{ product_id: 7, requested: 1, available: 0 }] });
    // Those that did not end within the wait (202) end by themselves; read every order's final state.
    const orders = await Promise.all(
      answers.map((a, i) => settled(buyers[i]!, a.status === 409 ? a.body.error.order_id : a.body.order_id)),
    );
    expect(orders.filter((o) => o.status === "confirmed")).toHaveLength(10);
    expect(orders.filter((o) => o.status === "cancelled" && o.cancel_reason.startsWith("out of stock"))).toHaveLength(40);
    const charges = await Promise.all(orders.map((o) => paymentsOf(o.order_id)));
    expect(charges.reduce((n, p) => n + charged(p), 0)).toBe(10);
    expect(await stockOf(7)).toEqual({ inventory: 0, on_hand: 0, reserved: 0 });
  }, 120_000);

  test("20 concurrent requests with one Idempotency-Key: one order, one charge, identical answers", async () => {
    await setStock(3, 30);
    const session = await buyer("same-key", 3, 1);
    const answers = await Promise.all(Array.from({ length: 20 }, () => checkout(session, "one-key")));
    const first = answers[0]!;
    expect(first.status).toBe(201);
    for (const a of answers) expect({ status: a.status, body: a.body }).toEqual({ status: first.status, body: first.body });
    const list = (await (await bff("/orders", { headers: session.auth })).json()) as { orders: unknown[] };
    expect(list.orders).toHaveLength(1);
    expect(charged(await paymentsOf(first.body.order_id))).toBe(1);
    expect((await stockOf(3)).on_hand).toBe(29);

    const reused = await checkout(session, "one-key", "tok_decline");
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe("IDEMPOTENCY_KEY_REUSED");
  }, 60_000);

  test("payments answering after the step's deadline (tok_slow, 3 s against 1 s): asked, not guessed; one charge, confirmed", async () => {
    await setStock(4, 40);
    const session = await buyer("slow", 4, 1);
    const res = await checkout(session, "slow-1", "tok_slow");
    // The 2 s wait ends before the 3 s charge: pending, with where to look.
    expect(res.status).toBe(202);
    expect(res.headers.get("location")).toBe(`/orders/${res.body.order_id}`);
    const order = await settled(session, res.body.order_id);
    expect(order.status).toBe("confirmed");
    expect(order.history.some((h: any) => h.step === "charge" && h.outcome === "retrying")).toBe(true);
    const payments = await paymentsOf(res.body.order_id);
    expect(payments).toHaveLength(1);
    expect(payments[0]!.status).toBe("succeeded");
    expect(await stockOf(4)).toMatchObject({ on_hand: 39, reserved: 0 });
  }, 60_000);

  test("a confirmed order cancelled by its customer: refunded, stock back, then 'cancelled' in the inbox", async () => {
    await setStock(5, 10);
    const session = await buyer("cancel", 5, 2);
    const placed = await checkout(session, "cancel-1");
    expect(placed.status).toBe(201);
    expect((await stockOf(5)).on_hand).toBe(8);
    const res = await bff(`/orders/${placed.body.order_id}/cancel`, { method: "POST", headers: session.auth });
    expect([200, 202]).toContain(res.status);
    const order = await settled(session, placed.body.order_id);
    expect(order).toMatchObject({ status: "cancelled", cancel_reason: "at the customer's request" });
    expect((await paymentsOf(placed.body.order_id)).map((p) => p.status)).toEqual(["refunded"]);
    expect(await stockOf(5)).toEqual({ inventory: 10, on_hand: 10, reserved: 0 });
    // Cancelling again changes nothing.
    expect((await bff(`/orders/${placed.body.order_id}/cancel`, { method: "POST", headers: session.auth })).status).toBe(200);
  }, 60_000);

  test("bad input is a 4xx in the envelope and writes nothing", async () => {
    await setStock(6, 10);
    const session = await buyer("bad", 6, 1);
    const other = await buyer("other", 6, 1);
    const cases: [string, Promise<Response>][] = [
      ["no key", fetch(`${bffUrl()}/checkout`, { method: "POST", headers: { ...json, ...session.auth }, body: JSON.stringify({ shipping_address: ADDRESS, card_token: "tok_visa" }) })],
      ["no address", fetch(`${bffUrl()}/checkout`, { method: "POST", headers: { ...json, ...session.auth, "idempotency-key": "bad-1" }, body: JSON.stringify({ card_token: "tok_visa" }) })],
      ["bad country", fetch(`${bffUrl()}/checkout`, { method: "POST", headers: { ...json, ...session.auth, "idempotency-key": "bad-2" }, body: JSON.stringify({ shipping_address: { ...ADDRESS, country: "Britain" }, card_token: "tok_visa" }) })],
      ["a price", fetch(`${bffUrl()}/checkout`, { method: "POST", headers: { ...json, ...session.auth, "idempotency-key": "bad-3" }, body: JSON.stringify({ shipping_address: ADDRESS, card_token: "tok_visa", total_cents: 1 }) })],
      ["not a date", fetch(`${bffUrl()}/checkout`, { method: "POST", headers: { ...json, ...session.auth, "idempotency-key": "bad-4" }, body: JSON.stringify({ shipping_address: ADDRESS, card_token: "tok_visa", delivery_date: "2026-02-30" }) })],
      ["no token", fetch(`${bffUrl()}/checkout`, { method: "POST", headers: { ...json, "idempotency-key": "bad-5" }, body: JSON.stringify({ shipping_address: ADDRESS, card_token: "tok_visa" }) })],
    ];
    for (const [what, pending] of cases) {
      const res = await answer(await pending);
      expect({ what, status: res.status >= 400 && res.status < 500 }).toEqual({ what, status: true });
      expect(res.body.error.code).toBeString();
      expect(JSON.stringify(res.body)).not.toContain("    at ");
    }
    expect(((await (await bff("/orders", { headers: session.auth })).json()) as { orders: unknown[] }).orders).toEqual([]);
    expect(await stockOf(6)).toEqual({ inventory: 10, on_hand: 10, reserved: 0 });

    // Another user's order is not found, not forbidden: its existence is not told.
    const theirs = await checkout(other, "theirs-1");
    expect(theirs.status).toBe(201);
    expect((await bff(`/orders/${theirs.body.order_id}`, { headers: session.auth })).status).toBe(404);
    expect((await bff(`/orders/${theirs.body.order_id}/cancel`, { method: "POST", headers: session.auth })).status).toBe(404);
    expect((await orderOf(other, theirs.body.order_id)).status).toBe("confirmed");

    // An empty cart.
    const empty = await newCustomer(bffUrl(), "empty");
    const res = await checkout(empty, "empty-1");
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("CART_EMPTY");
  }, 60_000);

  test.skipIf(!usesRealPostgres)("cancelling a shipped order is 409 NOT_CANCELLABLE and changes nothing", async () => {
    await setStock(8, 10);
    const session = await buyer("shipped", 8, 1);
    const placed = await checkout(session, "shipped-1");
    expect(placed.status).toBe(201);
    // Shipping comes with the delivery service; until then the test marks it in the orders database.
    const db = await connectDatabase({ url: storage!.env.ORDERS_DATABASE_URL!, dataDir: "", max: 1 });
    try {
      await db.sql`update orders set status = 'shipped' where order_id = ${placed.body.order_id}`;
    } finally {
      await db.close();
    }
    const res = await answer(await bff(`/orders/${placed.body.order_id}/cancel`, { method: "POST", headers: session.auth }));
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("NOT_CANCELLABLE");
    expect((await orderOf(session, placed.body.order_id)).status).toBe("shipped");
    expect(charged(await paymentsOf(placed.body.order_id))).toBe(1);
  }, 60_000);
});

describe.skipIf(!redisUp)("crashes and outages", () => {
  // Each point: the process kills itself there (SIGKILL, nothing flushed), is started again, and the sweeper
  // resumes the saga once the dead runner's lease has run out.
  const points: { at: string; card: string; via: "checkout" | "cancel" }[] = [
    ...["reserve", "charge", "commit", "clear_cart"].flatMap((step) => [
      { at: `${step}:before`, card: "tok_visa", via: "checkout" as const },
      { at: `${step}:after`, card: "tok_visa", via: "checkout" as const },
    ]),
    { at: "release:before", card: "tok_decline", via: "checkout" },
    { at: "refund:after", card: "tok_visa", via: "cancel" },
  ];

  test("SIGKILL of orders at each step of the saga: after a restart every order ends confirmed or cancelled, with one charge or none, and the stock adds up", async () => {
    const product = 9;
    await setStock(product, 100);
    const outcomes: { at: string; status: string; charges: number }[] = [];
    let sold = 0;
    for (const point of points) {
      const session = await buyer(`crash-${point.at.replace(":", "-")}`, product, 2);
      let orderId: number | undefined;
      if (point.via === "cancel") {
        const placed = await checkout(session, `crash-${point.at}`);
        expect(placed.status).toBe(201);
        orderId = placed.body.order_id;
        const orders = await restart("orders", { ORDERS_CRASH_AT: point.at });
        const res = await fetch(`${bffUrl()}/orders/${orderId}/cancel`, { method: "POST", headers: session.auth });
        expect({ at: point.at, status: res.status >= 500 }).toEqual({ at: point.at, status: true });
        await expectKilled(orders);
      } else {
        const orders = await restart("orders", { ORDERS_CRASH_AT: point.at });
        const res = await checkout(session, `crash-${point.at}`, point.card);
        // The BFF lost its upstream mid-request: an error in the envelope, never a hang.
        expect({ at: point.at, status: res.status >= 500, code: typeof res.body?.error?.code }).toEqual({ at: point.at, status: true, code: "string" });
        await expectKilled(orders);
      }
      await restart("orders");
      orderId ??= (await latestOrderId(session))!;
      expect(orderId).toBeNumber();
      const order = await settled(session, orderId);
      const charges = charged(await paymentsOf(orderId));
      outcomes.push({ at: point.at, status: order.status, charges });
      if (order.status === "confirmed") sold += 2;
      // The client's retry with the same key after the restart gets the order, never a second one.
      if (point.via === "checkout") {
        const retry = await checkout(session, `crash-${point.at}`, point.card);
        expect([201, 402]).toContain(retry.status);
        expect(retry.body.order_id ?? retry.body.error?.order_id).toBe(orderId);
      }
    }
    expect(outcomes).toEqual(
      points.map((p) =>
        p.card === "tok_decline" || p.via === "cancel" ? { at: p.at, status: "cancelled", charges: 0 } : { at: p.at, status: "confirmed", charges: 1 },
      ),
    );
    expect(await stockOf(product)).toEqual({ inventory: 100 - sold, on_hand: 100 - sold, reserved: 0 });
  }, 300_000);

  test("orders down longer than the reservation lives: the stock comes back by itself; when orders returns the order is cancelled and nothing is charged", async () => {
    const product = 10;
    await restart("inventory", { RESERVATION_TTL_MS: "1500" });
    try {
      await setStock(product, 10);
      const session = await buyer("ttl", product, 4);
      // Killed after the stock was reserved, before the charge.
      const orders = await restart("orders", { ORDERS_CRASH_AT: "charge:before" });
      const res = await checkout(session, "ttl-1");
      expect(res.status).toBeGreaterThanOrEqual(500);
      await expectKilled(orders);
      expect((await stockOf(product)).reserved).toBe(4);
      // Inventory's sweeper releases the reservation while orders is down.
      await pollUntil("the reservation released by expiry", 10_000, async () => ((await stockOf(product)).reserved === 0 ? true : undefined), 100);
      expect(await stockOf(product)).toEqual({ inventory: 10, on_hand: 10, reserved: 0 });

      await restart("orders");
      const orderId = (await latestOrderId(session))!;
      const order = await settled(session, orderId);
      expect(order.status).toBe("cancelled");
      expect(order.cancel_reason).toContain("reservation");
      expect(charged(await paymentsOf(orderId))).toBe(0);
      expect(await stockOf(product)).toEqual({ inventory: 10, on_hand: 10, reserved: 0 });
      expect(await cartOf(session)).toEqual([{ product_id: product, quantity: 4 }]);
    } finally {
      await restart("inventory");
    }
  }, 120_000);
});
