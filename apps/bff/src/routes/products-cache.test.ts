import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { delay, http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { createApp } from "../app.ts";
import { call, catalogue, DEADLINES, happyHandlers, issuer, urls } from "../test-upstreams.ts";

const server = setupServer(...happyHandlers);
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  server.resetHandlers();
  server.events.removeAllListeners();
});
afterAll(() => server.close());

const CACHE = { ttlMs: 1_000, swrMs: 5_000 };
let now: number;
let app: ReturnType<typeof createApp>;
let hits: Record<string, number>;
beforeEach(() => {
  now = 1_000_000;
  hits = {};
  app = createApp({ urls, verifier: issuer.verifier, deadlines: DEADLINES, productsCache: CACHE, productsStaleMaxMs: 60_000, now: () => now, onBreakerChange: () => {} });
  server.events.on("request:start", ({ request }) => {
    const host = new URL(request.url).hostname.replace(".test", "");
    hits[host] = (hits[host] ?? 0) + 1;
  });
});

describe("the products cache", () => {
  test("while fresh, listings are answered without calling products", async () => {
    await call(app, "/products/all");
    now += CACHE.ttlMs - 1;
    const { status, body, headers } = await call(app, "/products/all");
    expect(status).toBe(200);
    expect(body.products.map((p: any) => p.product_id)).toEqual(catalogue.map((p) => p.product_id));
    expect(body.degraded).toEqual([]);
    expect(body.stale).toBeUndefined();
    expect(hits.products).toBe(1);
    expect(hits.inventory).toBe(2); // stock is never cached
    expect(headers.get("server-timing")).toContain('products;dur=0;desc="cache"');
  });

  test("after the TTL, the copy is served at once while one background call refreshes it", async () => {
    await call(app, "/products/all");
    server.use(
      http.get(`${urls.products}/products`, async () => {
        await delay(50);
        return HttpResponse.json([{ product_id: 9, product_name: "New", price_cents: 900 }]);
      }),
    );
    now += CACHE.ttlMs;
    const [a, b] = await Promise.all([call(app, "/products/all"), call(app, "/products/all")]);
    expect(a.body.products.map((p: any) => p.product_id)).toEqual([3, 1, 2]);
    expect(b.body.products.map((p: any) => p.product_id)).toEqual([3, 1, 2]);
    expect(a.headers.get("server-timing")).toContain('products;dur=0;desc="cache"');
    await Bun.sleep(100); // the background refresh lands
    expect(hits.products).toBe(2);
    const after = await call(app, "/products/all");
    expect(after.body.products.map((p: any) => p.product_id)).toEqual([9]);
    expect(hits.products).toBe(2);
  });

  test("a failing background refresh leaves the copy and the listing as they were", async () => {
    await call(app, "/products/all");
    server.use(http.get(`${urls.products}/products`, () => HttpResponse.error()));
    now += CACHE.ttlMs + 1;
    const { status, body } = await call(app, "/products/all");
    expect(status).toBe(200);
    expect(body.degraded).toEqual([]);
  });

  test("past TTL + SWR the listing calls products again and waits for it", async () => {
    await call(app, "/products/all");
    now += CACHE.ttlMs + CACHE.swrMs;
    server.use(http.get(`${urls.products}/products`, () => HttpResponse.json([{ product_id: 5, product_name: "Fresh", price_cents: 500 }])));
    const { body } = await call(app, "/products/all");
    expect(body.products.map((p: any) => p.product_id)).toEqual([5]);
    expect(hits.products).toBe(2);
  });

  test("past TTL + SWR with products failing, the copy is still the stale-if-error fallback", async () => {
    await call(app, "/products/all");
    now += CACHE.ttlMs + CACHE.swrMs;
    server.use(http.get(`${urls.products}/products`, () => HttpResponse.error()));
    const { status, body } = await call(app, "/products/all");
    expect(status).toBe(200);
    expect(body.stale).toBe(true);
  });

  test("with PRODUCTS_STALE_MAX_MS below the cache window, an old copy is not served on error", async () => {
    const strict = createApp({ urls, verifier: issuer.verifier, deadlines: DEADLINES, productsCache: { ttlMs: 0, swrMs: 0 }, productsStaleMaxMs: 0, now: () => now, onBreakerChange: () => {} });
    await call(strict, "/products/all");
    now += 1;
    server.use(http.get(`${urls.products}/products`, () => HttpResponse.error()));
    expect((await call(strict, "/products/all")).status).toBe(502);
  });
});

describe("single flight", () => {
  test("concurrent listings for the same user share one cart, favorites and inventory call", async () => {
    const slow = (body: object) => async () => {
      await delay(30);
      return HttpResponse.json(body);
    };
    server.use(
      http.get(`${urls.cart}/users/:id/cart`, slow([{ product_id: 1, quantity: 1 }])),
      http.get(`${urls.favorites}/users/:id/favorites`, slow([{ product_id: 1 }])),
    );
    await call(app, "/products/all"); // fills the products cache
    hits = {};
    const answers = await Promise.all(Array.from({ length: 5 }, () => call(app, "/products/all", { user: "1" })));
    for (const a of answers) expect(a.body).toMatchObject({ cart_items: 1, favorite_items: 1, degraded: [] });
    expect(hits.cart).toBe(1);
    expect(hits.favorites).toBe(1);
  });

  test("different users do not share", async () => {
    await Promise.all(["1", "2", "3"].map((user) => call(app, "/products/all", { user })));
    expect(hits.cart).toBe(3);
  });
});
