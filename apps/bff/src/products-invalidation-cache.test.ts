// What a product change heard (products-invalidation.ts, through the app's productChanges feed) does to the
// products cache: the next listing asks products again whatever the TTL, the old copy survives only as the
// stale-if-error fallback, and no products answer to a call begun before the change is kept.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { delay, http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { createApp } from "./app.ts";
import { call, catalogue, happyHandlers, issuer, urls } from "./test-upstreams.ts";

const server = setupServer(...happyHandlers);
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  server.resetHandlers();
  server.events.removeAllListeners();
});
afterAll(() => server.close());

// Long enough that only a drop can explain a fresh price within a test.
const CACHE = { ttlMs: 60_000, swrMs: 60_000 };
const DEADLINES = { productsMs: 1000, inventoryMs: 1000, writeMs: 1000 };
const repriced = catalogue.map((p) => (p.product_id === 1 ? { ...p, price_cents: 1990 } : p));
const priceOf1 = (body: any) => body.products.find((p: any) => p.product_id === 1)?.price_cents;

let now: number;
let drop: () => void;
let productsCalls: number;
let app: ReturnType<typeof createApp>;

beforeEach(() => {
  now = 1_000_000;
  productsCalls = 0;
  app = createApp({
    urls,
    verifier: issuer.verifier,
    deadlines: DEADLINES,
    productsCache: CACHE,
    productsStaleMaxMs: 300_000,
    now: () => now,
    onBreakerChange: () => {},
    productChanges: { onChange: (listener) => void (drop = listener) },
  });
  server.events.on("request:start", ({ request }) => {
    if (new URL(request.url).hostname === "products.test") productsCalls++;
  });
});

describe("a product change heard drops the products cache", () => {
  test("the next listing asks products again and shows the new price, however long the TTL", async () => {
    expect(priceOf1((await call(app, "/products/all")).body)).toBe(2490);
    server.use(http.get(`${urls.products}/products`, () => HttpResponse.json(repriced)));
    expect(priceOf1((await call(app, "/products/all")).body)).toBe(2490); // cached: nobody said anything changed
    expect(productsCalls).toBe(1);
    drop();
    const { body, headers } = await call(app, "/products/all");
    expect(priceOf1(body)).toBe(1990);
    expect(headers.get("server-timing")).not.toContain('desc="cache"');
    expect(productsCalls).toBe(2);
    // And the new page is cached again.
    expect(priceOf1((await call(app, "/products/all")).body)).toBe(1990);
    expect(productsCalls).toBe(2);
  });

  test("the dropped copy is served only when products fails, and then the listing says stale", async () => {
    await call(app, "/products/all");
    drop();
    server.use(http.get(`${urls.products}/products`, () => HttpResponse.error()));
    const { status, body } = await call(app, "/products/all");
    expect(status).toBe(200);
    expect(body.stale).toBe(true);
    expect(body.degraded).toContain("products");
    expect(priceOf1(body)).toBe(2490);
  });

  test("a listing after the drop does not share the products call begun before it (which may carry the old price)", async () => {
    let served = 0;
    server.use(
      http.get(`${urls.products}/products`, async () => {
        // The first answer is slow and from before the change; every later one is after it.
        if (served++ === 0) {
          await delay(100);
          return HttpResponse.json(catalogue);
        }
        return HttpResponse.json(repriced);
      }),
    );
    const before = call(app, "/products/all");
    await delay(20); // that call is in flight
    drop();
    const after = await call(app, "/products/all");
    expect(priceOf1(after.body)).toBe(1990);
    expect(priceOf1((await before).body)).toBe(2490); // asked before the change: either price is right for it
    // The old answer was not kept: the cache holds the new page.
    expect(priceOf1((await call(app, "/products/all")).body)).toBe(1990);
    expect(productsCalls).toBe(2);
  });

  test("a background refresh begun before the drop does not bring the old page back when it lands", async () => {
    await call(app, "/products/all");
    let served = 0;
    server.use(
      http.get(`${urls.products}/products`, async () => {
        if (served++ === 0) {
          await delay(100);
          return HttpResponse.json(catalogue);
        }
        return HttpResponse.json(repriced);
      }),
    );
    now += CACHE.ttlMs; // past the TTL, inside SWR: served from the copy, refreshed in the background
    expect(priceOf1((await call(app, "/products/all")).body)).toBe(2490);
    drop();
    await delay(150); // the refresh with the old page has landed
    expect(priceOf1((await call(app, "/products/all")).body)).toBe(1990);
    expect(productsCalls).toBe(3);
  });
});
