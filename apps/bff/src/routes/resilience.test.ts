import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { createApp } from "../app.ts";
import { call, catalogue, DEADLINES, happyHandlers, issuer, NO_CACHE, urls } from "../test-upstreams.ts";

const server = setupServer(...happyHandlers);
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  server.resetHandlers();
  server.events.removeAllListeners();
});
afterAll(() => server.close());

const BREAKER = { windowMs: 10_000, minCalls: 5, failureRatio: 0.5, openMs: 5_000, halfOpenProbes: 3 };
const STALE_MAX_MS = 60_000;
// Breakers and the stale copy read this clock; deadlines and retry pauses are real (and short).
let now = 0;
let app: ReturnType<typeof createApp>;
let hits: Record<string, number>;

beforeEach(() => {
  now = 1_000_000;
  hits = {};
  app = createApp({
    urls,
    verifier: issuer.verifier,
    deadlines: DEADLINES,
    breaker: BREAKER,
    retry: { attempts: 3, baseMs: 1, maxMs: 5, minAttemptMs: 10 },
    productsStaleMaxMs: STALE_MAX_MS,
    productsCache: NO_CACHE,
    now: () => now,
    onBreakerChange: () => {},
  });
  server.events.on("request:start", ({ request }) => {
    const host = new URL(request.url).hostname.replace(".test", "");
    hits[host] = (hits[host] ?? 0) + 1;
  });
});

const productsDown = () => server.use(http.get(`${urls.products}/products`, () => HttpResponse.error()));

async function openProductsBreaker() {
  productsDown();
  // Each listing makes up to 3 attempts: the second listing opens the breaker on its 5th failure.
  await call(app, "/products/all");
  await call(app, "/products/all");
  const health = await call(app, "/health/upstreams");
  expect(health.body.upstreams.find((u: any) => u.name === "products").state).toBe("open");
}

describe("products breaker", () => {
  test("products failing repeatedly: the next listing is 503 with Retry-After and no request reaches products", async () => {
    await openProductsBreaker();
    const before = hits.products;
    now += 1_500;
    const { status, body, headers } = await call(app, "/products/all", { user: "1" });
    expect(status).toBe(503);
    expect(body.error.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(headers.get("retry-after")).toBe("4"); // 3.5 s left, rounded up
    expect(hits.products).toBe(before);
  });

  test("after the open duration a probe reaches products, succeeds, and the listing is 200 again", async () => {
    await openProductsBreaker();
    server.resetHandlers(); // products healthy again
    now += BREAKER.openMs;
    const before = hits.products ?? 0;
    const { status, body } = await call(app, "/products/all", { user: "1" });
    expect(status).toBe(200);
    expect(body.products).toHaveLength(catalogue.length);
    expect(hits.products).toBe(before + 1);
    const health = await call(app, "/health/upstreams");
    expect(health.body.upstreams.find((u: any) => u.name === "products").state).toBe("half_open");
    for (let i = 0; i < BREAKER.halfOpenProbes - 1; i++) await call(app, "/products/all");
    const after = await call(app, "/health/upstreams");
    expect(after.body.upstreams.find((u: any) => u.name === "products")).toMatchObject({ state: "closed", calls: 0, failures: 0 });
  });

  test("a 4xx from products is the caller's fault and does not open the breaker", async () => {
    server.use(http.get(`${urls.products}/products`, () => HttpResponse.json({ error: { code: "BAD_REQUEST" } }, { status: 400 })));
    for (let i = 0; i < 6; i++) expect((await call(app, "/products/all")).status).toBe(502);
    const health = await call(app, "/health/upstreams");
    expect(health.body.upstreams.find((u: any) => u.name === "products")).toMatchObject({ state: "closed", failures: 0, calls: 6 });
  });
});

describe("retries", () => {
  test("a GET that fails once is retried inside the deadline and the listing is whole", async () => {
    let calls = 0;
    server.use(
      http.get(`${urls.products}/products`, () => (++calls === 1 ? HttpResponse.json({}, { status: 503 }) : HttpResponse.json(catalogue))),
    );
    const { status, body } = await call(app, "/products/all", { user: "1" });
    expect(status).toBe(200);
    expect(body.degraded).toEqual([]);
    expect(calls).toBe(2);
  });

  test("a Retry-After longer than the deadline is not waited for", async () => {
    server.use(http.get(`${urls.products}/products`, () => HttpResponse.json({}, { status: 503, headers: { "retry-after": "30" } })));
    const { status, ms } = await call(app, "/products/all");
    expect(status).toBe(502);
    expect(hits.products).toBe(1);
    expect(ms).toBeLessThan(DEADLINES.productsMs);
  });

  test("a change (POST) is never retried", async () => {
    server.use(http.post(`${urls.cart}/users/:id/cart`, () => HttpResponse.json({}, { status: 503 })));
    const { status } = await call(app, "/cart", { method: "POST", user: "1", body: JSON.stringify({ product_id: 1 }) });
    expect(status).toBe(502);
    expect(hits.cart).toBe(1);
  });
});

describe("stale-if-error", () => {
  test("products failing after a good answer: 200 from the last good copy with stale: true", async () => {
    expect((await call(app, "/products/all", { user: "1" })).body.stale).toBeUndefined();
    productsDown();
    now += STALE_MAX_MS - 1;
    const { status, body } = await call(app, "/products/all", { user: "1" });
    expect(status).toBe(200);
    expect(body.stale).toBe(true);
    expect(body.degraded).toEqual(["products"]);
    expect(body.products.map((p: any) => p.product_id)).toEqual(catalogue.map((p) => p.product_id));
    expect(body.products.map((p: any) => p.inventory)).toEqual([17, 5, 0]); // inventory is still live
    expect(body.cart_items).toBe(2);
  });

  test("the copy is also served while the breaker is open, without calling products", async () => {
    await call(app, "/products/all");
    await openProductsBreaker();
    const before = hits.products;
    const { status, body } = await call(app, "/products/all");
    expect(status).toBe(200);
    expect(body.stale).toBe(true);
    expect(hits.products).toBe(before);
  });

  test("a copy older than PRODUCTS_STALE_MAX_MS is not served", async () => {
    await call(app, "/products/all");
    productsDown();
    now += STALE_MAX_MS + 1;
    const { status, body } = await call(app, "/products/all");
    expect(status).toBe(502);
    expect(body.error.code).toBe("UPSTREAM_ERROR");
  });

  test("the copy is per page: another page has none", async () => {
    await call(app, "/products/all?limit=2");
    productsDown();
    expect((await call(app, "/products/all?limit=2")).status).toBe(200);
    now += BREAKER.windowMs; // let those failures age out of the breaker's window
    expect((await call(app, "/products/all?limit=3")).status).toBe(502);
  });
});

describe("optional upstreams", () => {
  test("cart's breaker open: cart_items null and degraded, answered without calling cart", async () => {
    server.use(http.get(`${urls.cart}/users/:id/cart`, () => HttpResponse.error()));
    for (let i = 0; i < 2; i++) await call(app, "/products/all", { user: "1" });
    const before = hits.cart;
    const { status, body } = await call(app, "/products/all", { user: "1" });
    expect(status).toBe(200);
    expect(body.cart_items).toBeNull();
    expect(body.degraded).toEqual(["cart"]);
    expect(hits.cart).toBe(before);
  });
});

describe("GET /health/upstreams", () => {
  test("shows each upstream's breaker", async () => {
    const { status, body } = await call(app, "/health/upstreams");
    expect(status).toBe(200);
    expect(body.upstreams.map((u: any) => u.name)).toEqual(["products", "inventory", "cart", "favorites", "notifications", "users", "orders", "delivery"]);
    expect(body.upstreams[0]).toEqual({ name: "products", state: "closed", calls: 0, failures: 0, slow: 0, half_open_in_ms: null });
  });
});
