// End to end: the five real apps as separate processes on free ports, each with a fresh database,
// exercised only through the BFF the way a browser would.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Ports } from "../scripts/apps.ts";
import type { TestProcess } from "./support/processes.ts";
import { READY_TIMEOUT_MS, freshStorage, pickPorts, startApps, stopAll, type Storage } from "./support/stack.ts";

let ports: Ports;
let storage: Storage | undefined;
let apps: TestProcess[] = [];

beforeAll(async () => {
  ports = pickPorts();
  storage = await freshStorage("e2e");
  apps = await startApps(ports, storage.env);
}, READY_TIMEOUT_MS + 30_000);

afterAll(async () => {
  await stopAll(apps);
  await storage?.cleanup();
}, 60_000);

type Listing = {
  cart_items: number | null;
  favorite_items: number | null;
  products: { product_id: number; product_name: string; inventory: number | null }[];
  degraded: string[];
};

const bff = (path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${ports.bff}${path}`, init);

async function listing(userId?: string): Promise<Listing> {
  const res = await bff("/products/all", { headers: userId ? { "x-user-id": userId } : {} });
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
    const body = await listing("1");
    expect(body.cart_items).toBe(3);
    expect(body.favorite_items).toBe(3);
    expect(body.degraded).toEqual([]);
    expect(body.products.length).toBeGreaterThanOrEqual(10);
    // typeof checks rather than toMatchObject(expect.any(...)), which overwrites the received values (oven-sh/bun#3521).
    for (const product of body.products) {
      expect([typeof product.product_id, typeof product.product_name, typeof product.inventory]).toEqual(["number", "string", "number"]);
      expect(product.product_name).not.toBe("");
    }
    expect(body.products.some((p) => p.inventory === 0)).toBe(true); // the seed shows one out-of-stock product
  });

  test("adding to the cart through the BFF shows in the next listing", async () => {
    const res = await bff("/cart", {
      method: "POST",
      headers: { "x-user-id": "1", "content-type": "application/json" },
      body: JSON.stringify({ product_id: 4 }),
    });
    expect(res.ok).toBe(true);
    expect(await res.json()).toMatchObject({ product_id: 4, quantity: 1 });
    expect((await listing("1")).cart_items).toBe(4);
  });

  test("an anonymous listing has products but no cart or favorites", async () => {
    const body = await listing();
    expect(body.cart_items).toBeNull();
    expect(body.favorite_items).toBeNull();
    expect(body.degraded).toEqual([]);
    expect(body.products.length).toBeGreaterThanOrEqual(10);
  });

  test("cart and favorites routes refuse a request without x-user-id", async () => {
    for (const path of ["/cart", "/favorites"]) {
      const res = await bff(path);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(await res.json()).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
    }
  });
});
