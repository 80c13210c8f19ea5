// Delivery end to end, every app a real process: a customer checks out, delivery activates the order's delivery
// once it is paid, the admin assigns courier 1, courier 1 marks it done, and the customer sees "delivered" on
// the order and both notices in the inbox. Around it: who may do what (BOLA), a cancel after shipping refused,
// a cancelled order's delivery cancelled, and two managers assigning at once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Ports } from "../scripts/apps.ts";
import { requireRedis } from "../shared/src/testing/test-redis.ts";
import { ADMIN_EMAIL, login, newCustomer, type Session } from "./support/accounts.ts";
import { documentedFetch } from "./support/contract.ts";
import { pollUntil } from "./support/poll.ts";
import type { TestProcess } from "./support/processes.ts";
import { freshQueue, freshStorage, pickPorts, READY_TIMEOUT_MS, startApps, stopAll, type QueueSpace, type Storage } from "./support/stack.ts";

const redisUp = await requireRedis("the delivery end-to-end tests");
const ADDRESS = { name: "Grace Hopper", line1: "1 Compiler Way", city: "Arlington", postal_code: "22201", country: "US" };
const EVENTUALLY_MS = 15_000;
// A week from now: a delivery date must be today or later, within a year.
const DELIVERY_DATE = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);

let ports: Ports;
let storage: Storage | undefined;
let queue: QueueSpace | undefined;
let apps: TestProcess[] = [];
let admin: Session;
let courier1: Session;
let courier2: Session;

beforeAll(async () => {
  if (!redisUp) return;
  ports = pickPorts();
  storage = await freshStorage("delivery");
  queue = freshQueue("delivery");
  apps = await startApps(ports, { ...storage.env, ...queue.env, RATE_LIMIT_AUTH_IP: "1000/60" });
  admin = await login(bffUrl(), ADMIN_EMAIL);
  courier1 = await login(bffUrl(), "courier1@storefront.test");
  courier2 = await login(bffUrl(), "courier2@storefront.test");
}, READY_TIMEOUT_MS + 30_000);

afterAll(async () => {
  await stopAll(apps);
  await queue?.cleanup();
  await storage?.cleanup();
}, 60_000);

const bffUrl = () => `http://127.0.0.1:${ports.bff}`;
const json = { "content-type": "application/json" };
const call = async (session: Session | null, method: string, path: string, body?: unknown) => {
  const res = await documentedFetch(`${bffUrl()}${path}`, {
    method,
    headers: { ...(session ? session.auth : {}), ...(body === undefined ? {} : json) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
};

/** A new customer with one of product 1 in the cart, checked out with tok_visa: the confirmed order's id. */
async function placedOrder(label: string): Promise<{ customer: Session; orderId: number }> {
  const customer = await newCustomer(bffUrl(), label);
  expect((await call(customer, "POST", "/cart", { product_id: 1, quantity: 1 })).status).toBe(200);
  const res = await documentedFetch(`${bffUrl()}/checkout`, {
    method: "POST",
    headers: { ...json, ...customer.auth, "idempotency-key": `${label}-1` },
    body: JSON.stringify({ shipping_address: ADDRESS, delivery_date: DELIVERY_DATE, card_token: "tok_visa" }),
  });
  const body = (await res.json()) as { order_id: number; status: string };
  expect({ status: res.status, order: body.status }).toEqual({ status: 201, order: "confirmed" });
  return { customer, orderId: body.order_id };
}

/** Waits until the admin sees the order's delivery in `status`. */
const deliveryIn = (orderId: number, status: string) =>
  pollUntil(`delivery ${orderId} ${status}`, EVENTUALLY_MS, async () => {
    const res = await call(admin, "GET", `/admin/deliveries/${orderId}`);
    return res.status === 200 && res.body.status === status ? res.body : undefined;
  }, 100);

const titles = async (session: Session) => ((await call(session, "GET", "/notifications")).body as { title: string }[]).map((n) => n.title);

describe.skipIf(!redisUp)("delivery through the BFF", () => {
  test("checkout -> activated -> the admin assigns courier 1 -> courier 1 marks it done -> the customer sees delivered and both notices", async () => {
    const { customer, orderId } = await placedOrder("deliver");
    const activated = await deliveryIn(orderId, "activated");
    expect({ order_id: activated.order_id, courier: activated.courier, delivery_date: activated.delivery_date }).toEqual({ order_id: orderId, courier: null, delivery_date: DELIVERY_DATE });
    expect(activated.shipping_address).toEqual(ADDRESS);

    const couriers = (await call(admin, "GET", "/admin/couriers")).body as { courier_id: number; name: string }[];
    const one = couriers.find((c) => c.name === "Courier One")!;
    const assigned = await call(admin, "POST", `/admin/deliveries/${orderId}/courier`, { courier_id: one.courier_id });
    expect(assigned.status).toBe(200);
    expect(assigned.body.courier).toEqual({ courier_id: one.courier_id, name: "Courier One" });

    // The order has shipped: the customer sees it, and can no longer cancel.
    await pollUntil("the order shipped", EVENTUALLY_MS, async () => ((await call(customer, "GET", `/orders/${orderId}`)).body.status === "shipped" ? true : undefined), 100);
    expect((await call(customer, "POST", `/orders/${orderId}/cancel`)).body.error.code).toBe("NOT_CANCELLABLE");

    // Courier 1 sees it among theirs; courier 2 does not, and cannot finish it.
    const mine = (await call(courier1, "GET", "/courier/deliveries")).body.deliveries as { order_id: number }[];
    expect(mine.map((d) => d.order_id)).toContain(orderId);
    const theirs = (await call(courier2, "GET", "/courier/deliveries")).body.deliveries as { order_id: number }[];
    expect(theirs.map((d) => d.order_id)).not.toContain(orderId);
    expect((await call(courier2, "POST", `/courier/deliveries/${orderId}/done`)).status).toBe(404);

    const done = await call(courier1, "POST", `/courier/deliveries/${orderId}/done`);
    expect({ status: done.status, delivery: done.body.status }).toEqual({ status: 200, delivery: "done" });
    // Done is final: again is an illegal transition naming the status.
    const again = await call(courier1, "POST", `/courier/deliveries/${orderId}/done`);
    expect({ status: again.status, code: again.body.error.code, current: again.body.error.status }).toEqual({ status: 409, code: "INVALID_TRANSITION", current: "done" });

    const order = await pollUntil("the order delivered", EVENTUALLY_MS, async () => {
      const res = await call(customer, "GET", `/orders/${orderId}`);
      return res.body.status === "delivered" ? res.body : undefined;
    }, 100);
    expect(order.delivery).toMatchObject({ status: "done", courier_name: "Courier One" });
    await pollUntil("both notices in the inbox", EVENTUALLY_MS, async () => {
      const inbox = await titles(customer);
      return inbox.includes(`Order #${orderId} is on its way`) && inbox.includes(`Order #${orderId} delivered`) ? true : undefined;
    }, 100);
  }, 60_000);

  test("two managers assigning at once: one wins, the other gets 409", async () => {
    const { orderId } = await placedOrder("race");
    await deliveryIn(orderId, "activated");
    const [a, b] = await Promise.all([
      call(admin, "POST", `/admin/deliveries/${orderId}/courier`, { courier_id: 1 }),
      call(admin, "POST", `/admin/deliveries/${orderId}/courier`, { courier_id: 2 }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const loser = a.status === 409 ? a : b;
    expect(loser.body.error.code).toBe("INVALID_TRANSITION");
  }, 60_000);

  test("a cancelled order's delivery is cancelled, and no one can assign it afterwards", async () => {
    const { customer, orderId } = await placedOrder("cancelled");
    await deliveryIn(orderId, "activated");
    const res = await call(customer, "POST", `/orders/${orderId}/cancel`);
    expect([200, 202]).toContain(res.status);
    await deliveryIn(orderId, "canceled");
    const assign = await call(admin, "POST", `/admin/deliveries/${orderId}/courier`, { courier_id: 1 });
    expect({ status: assign.status, current: assign.body.error.status }).toEqual({ status: 409, current: "canceled" });
  }, 60_000);

  test("who may do what: customers are kept off the admin and courier routes, couriers off the admin ones", async () => {
    const { customer, orderId } = await placedOrder("bola");
    await deliveryIn(orderId, "activated");
    for (const [who, session, method, path] of [
      ["customer", customer, "GET", "/admin/deliveries"],
      ["customer", customer, "POST", `/admin/deliveries/${orderId}/courier`],
      ["customer", customer, "GET", "/courier/deliveries"],
      ["customer", customer, "POST", `/courier/deliveries/${orderId}/done`],
      ["courier", courier1, "GET", "/admin/deliveries"],
      ["courier", courier1, "POST", `/admin/deliveries/${orderId}/courier`],
      ["admin", admin, "POST", `/courier/deliveries/${orderId}/done`],
    ] as const) {
      const res = await call(session, method, path, method === "POST" && path.endsWith("courier") ? { courier_id: 1 } : undefined);
      expect({ who, path, status: res.status }).toEqual({ who, path, status: 403 });
    }
    expect((await call(null, "GET", "/admin/deliveries")).status).toBe(401);
    // Nothing changed.
    expect((await deliveryIn(orderId, "activated")).courier).toBeNull();
  }, 60_000);
});
