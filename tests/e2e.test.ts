// End to end: the seven real apps as separate processes on free ports, each with a fresh database and the run's
// own BullMQ prefix on the test Redis, exercised through the BFF the way a browser would: logged in as the
// seeded demo users, new customers, and the admin (who sets stock and prices through /admin).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Ports } from "../scripts/apps.ts";
import { requireRedis } from "../shared/src/testing/test-redis.ts";
import { ADMIN_EMAIL, demoEmail, login, newCustomer, type Session } from "./support/accounts.ts";
import { documentedFetch } from "./support/contract.ts";
import { pollUntil } from "./support/poll.ts";
import type { TestProcess } from "./support/processes.ts";
import { READY_TIMEOUT_MS, freshQueue, freshStorage, pickPorts, startApps, stopAll, type QueueSpace, type Storage } from "./support/stack.ts";

// Without Redis the apps still run (events wait in the outbox); only the notification tests are skipped.
const redisUp = await requireRedis("the notifications end-to-end tests");
// Short, so the reminder test waits well under a second for what waits a day in production.
const CART_REMINDER_DELAY_MS = 300;
// A bound, not an expectation: delivery normally takes tens of milliseconds.
const DELIVERY_TIMEOUT_MS = 10_000;

let ports: Ports;
let storage: Storage | undefined;
let queue: QueueSpace | undefined;
let apps: TestProcess[] = [];
let user1: Session;
let admin: Session;

beforeAll(async () => {
  ports = pickPorts();
  storage = await freshStorage("e2e");
  queue = freshQueue("e2e");
  apps = await startApps(ports, { ...storage.env, ...queue.env, CART_REMINDER_DELAY_MS: String(CART_REMINDER_DELAY_MS) });
  user1 = await login(bffUrl(), demoEmail(1));
  admin = await login(bffUrl(), ADMIN_EMAIL);
}, READY_TIMEOUT_MS + 30_000);

afterAll(async () => {
  await stopAll(apps);
  // After the apps: until they have stopped, the relays and the worker still write under the prefix.
  await queue?.cleanup();
  await storage?.cleanup();
}, 60_000);

type Listing = {
  cart_items: number | null;
  favorite_items: number | null;
  products: { product_id: number; product_name: string; price_cents: number; inventory: number | null }[];
  degraded: string[];
};

const bffUrl = () => `http://127.0.0.1:${ports.bff}`;
const bff = (path: string, init: RequestInit = {}) => documentedFetch(`${bffUrl()}${path}`, init);

async function listing(session?: Session): Promise<Listing> {
  const res = await bff("/products/all", { headers: session ? session.auth : {} });
  expect(res.status).toBe(200);
  return (await res.json()) as Listing;
}

describe("storefront end to end", () => {
  test("every app answers /health with its own name", async () => {
    for (const [name, port] of Object.entries(ports)) {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: "ok", service: name });
    }
  });

  test("the listing for user 1 joins products, inventory, cart and favorites", async () => {
    const body = await listing(user1);
    expect(body.cart_items).toBe(3);
    expect(body.favorite_items).toBe(3);
    expect(body.degraded).toEqual([]);
    expect(body.products.length).toBeGreaterThanOrEqual(10);
    // typeof checks rather than toMatchObject(expect.any(...)), which overwrites the received values (oven-sh/bun#3521).
    for (const product of body.products) {
      expect([typeof product.product_id, typeof product.product_name, typeof product.price_cents, typeof product.inventory]).toEqual(["number", "string", "number", "number"]);
      expect(product.product_name).not.toBe("");
    }
    expect(body.products.some((p) => p.inventory === 0)).toBe(true); // the seed shows one out-of-stock product
  });

  test("adding to the cart through the BFF shows in the next listing", async () => {
    const res = await bff("/cart", {
      method: "POST",
      headers: { ...user1.auth, "content-type": "application/json" },
      body: JSON.stringify({ product_id: 4 }),
    });
    expect(res.ok).toBe(true);
    expect(await res.json()).toMatchObject({ product_id: 4, quantity: 1 });
    expect((await listing(user1)).cart_items).toBe(4);
  });

  test("an anonymous listing has products but no cart or favorites", async () => {
    const body = await listing();
    expect(body.cart_items).toBeNull();
    expect(body.favorite_items).toBeNull();
    expect(body.degraded).toEqual([]);
    expect(body.products.length).toBeGreaterThanOrEqual(10);
  });

  test("x-user-id gets nothing of user 1's: the user routes answer 401 with WWW-Authenticate, the listing is anonymous", async () => {
    for (const path of ["/cart", "/favorites", "/notifications", "/me"]) {
      const res = await bff(path, { headers: { "x-user-id": "1" } });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toStartWith("Bearer");
      expect(await res.json()).toMatchObject({ error: { code: "UNAUTHENTICATED", message: expect.any(String) } });
    }
    const anonymous = await listing();
    const withHeader = (await (await bff("/products/all", { headers: { "x-user-id": "1" } })).json()) as Listing;
    expect(withHeader.cart_items).toBeNull();
    expect(withHeader.favorite_items).toBeNull();
    expect(withHeader.products.length).toBe(anonymous.products.length);
  });
});

type InboxItem = { id: number; type: string; title: string; body: string; payload: Record<string, unknown>; created_at: string; read_at: string | null };

const json = (method: string, body: unknown, session?: Session): RequestInit => ({
  method,
  headers: { "content-type": "application/json", ...session?.auth },
  body: JSON.stringify(body),
});

async function inbox(session: Session): Promise<InboxItem[]> {
  const res = await bff("/notifications", { headers: session.auth });
  expect(res.status).toBe(200);
  return (await res.json()) as InboxItem[];
}

/** The user's notifications that match, once there is at least one (polled through the BFF). */
const arrived = (session: Session, what: string, match: (item: InboxItem) => boolean) =>
  pollUntil(`${what} in ${session.email}'s inbox`, DELIVERY_TIMEOUT_MS, async () => {
    const items = (await inbox(session)).filter(match);
    return items.length ? items : undefined;
  });

async function setStock(productId: number, inventory: number) {
  const res = await bff(`/admin/products/${productId}/inventory`, json("PUT", { inventory }, admin));
  expect(res.status).toBe(200);
}

describe.skipIf(!redisUp)("notifications end to end", () => {
  // Product 9 appears in no seed row and in no other test here; the users are new.
  const PRODUCT = 9;
  let FAN: Session;
  let STRANGER: Session;
  beforeAll(async () => {
    FAN = await newCustomer(bffUrl(), "fan");
    STRANGER = await newCustomer(bffUrl(), "stranger");
  });

  test("a favorited product back in stock reaches the favoriter's inbox; it can be marked read, by that user only", async () => {
    await setStock(PRODUCT, 0);
    const favorite = await bff("/favorites", json("POST", { product_id: PRODUCT }, FAN));
    expect(favorite.ok).toBe(true);
    await setStock(PRODUCT, 5);

    const isRestock = (n: InboxItem) => n.type === "stock.back_in_stock" && n.payload.product_id === PRODUCT;
    const [notification, ...more] = await arrived(FAN, "the back-in-stock notification", isRestock);
    expect(more).toEqual([]);
    expect(notification!.payload).toEqual({ product_id: PRODUCT, inventory: 5 });
    expect(notification!.read_at).toBeNull();
    expect(await inbox(STRANGER)).toEqual([]);

    // Another user cannot mark it read (nor learn that it exists).
    const foreign = await bff(`/notifications/${notification!.id}/read`, { method: "POST", headers: STRANGER.auth });
    expect(foreign.status).toBe(404);
    expect(await foreign.json()).toMatchObject({ error: { code: "NOT_FOUND" } });

    const read = await bff(`/notifications/${notification!.id}/read`, { method: "POST", headers: FAN.auth });
    expect(read.status).toBe(200);
    const marked = (await read.json()) as InboxItem;
    expect(marked.id).toBe(notification!.id);
    expect(typeof marked.read_at).toBe("string");
    expect((await inbox(FAN)).find((n) => n.id === notification!.id)?.read_at).toBe(marked.read_at);
  });

  test("a price drop on a favorited product reaches the favoriter", async () => {
    // The favorite from the test above; set again here (idempotent) so this test stands on its own.
    expect((await bff("/favorites", json("POST", { product_id: PRODUCT }, FAN))).ok).toBe(true);
    const product = (await (await fetch(`http://127.0.0.1:${ports.products}/products/${PRODUCT}`)).json()) as { product_name: string; price_cents: number };
    const lower = product.price_cents - 100;
    const patched = await bff(`/admin/products/${PRODUCT}`, json("PATCH", { price_cents: lower }, admin));
    expect(patched.status).toBe(200);

    const [drop, ...more] = await arrived(FAN, "the price-drop notification", (n) => n.type === "price.dropped" && n.payload.product_id === PRODUCT);
    expect(more).toEqual([]);
    expect(drop!.payload).toEqual({ product_id: PRODUCT, product_name: product.product_name, old_price_cents: product.price_cents, new_price_cents: lower });
    expect(await inbox(STRANGER)).toEqual([]);
  });

  test("something left in the cart brings a reminder once the delay has passed", async () => {
    const SHOPPER = await newCustomer(bffUrl(), "shopper");
    const before = Date.now();
    const added = await bff("/cart", json("POST", { product_id: 2, quantity: 2 }, SHOPPER));
    expect(added.ok).toBe(true);

    const [reminder, ...more] = await arrived(SHOPPER, "the cart reminder", (n) => n.type === "cart.reminder");
    expect(more).toEqual([]);
    expect(reminder!.payload).toMatchObject({ user_id: SHOPPER.userId, items: 1 });
    // Not before the delay, counted from the change (same machine, same clock; a few ms for rounding).
    expect(Date.parse(reminder!.created_at) - before).toBeGreaterThanOrEqual(CART_REMINDER_DELAY_MS - 5);
  });
});
