import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { delay, http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { call, catalogue, DEADLINES, happyHandlers, testApp, urls } from "../test-upstreams.ts";

const server = setupServer(...happyHandlers);
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

// A fresh app per test: each has its own breakers and stale copy.
let app: ReturnType<typeof testApp>;
beforeEach(() => {
  app = testApp();
});
// Generous slack over the deadlines: the bound is what matters, not the machine's speed.
const SLACK_MS = 100;

describe("GET /products/all", () => {
  test("merges products, inventory, cart and favorites in the products service's order", async () => {
    const { status, body } = await call(app, "/products/all", { user: "1" });
    expect(status).toBe(200);
    expect(body).toEqual({
      cart_items: 2,
      favorite_items: 3,
      products: [
        { product_id: 3, product_name: "Ceramic pour-over", price_cents: 2200, inventory: 17 },
        { product_id: 1, product_name: "Espresso beans", price_cents: 2490, inventory: 5 },
        { product_id: 2, product_name: "Filter coffee", price_cents: 1290, inventory: 0 },
      ],
      degraded: [],
      next_after: null,
    });
  });

  test("asks inventory once, in one batch, for the listed ids", async () => {
    const seen: string[] = [];
    server.events.on("request:start", ({ request }) => {
      if (request.url.startsWith(urls.inventory)) seen.push(request.url);
    });
    await call(app, "/products/all", { user: "1" });
    server.events.removeAllListeners();
    expect(seen).toEqual([`${urls.inventory}/inventory?ids=3,1,2`]);
  });

  test("anonymous: cart and favorites are not called and their counts are null", async () => {
    server.use(
      http.get(`${urls.cart}/*`, () => HttpResponse.error()),
      http.get(`${urls.favorites}/*`, () => HttpResponse.error()),
    );
    const called: string[] = [];
    server.events.on("request:start", ({ request }) => called.push(new URL(request.url).host));
    const { status, body } = await call(app, "/products/all");
    server.events.removeAllListeners();
    expect(status).toBe(200);
    expect(body.cart_items).toBeNull();
    expect(body.favorite_items).toBeNull();
    expect(body.degraded).toEqual([]);
    expect(called.sort()).toEqual(["inventory.test", "products.test"]);
  });

  test("products hanging: 504 UPSTREAM_TIMEOUT within the deadline, and cart/favorites are aborted", async () => {
    const signals: AbortSignal[] = [];
    server.use(
      http.get(`${urls.products}/products`, () => delay("infinite")),
      http.get(`${urls.cart}/users/:id/cart`, async ({ request }) => {
        signals.push(request.signal);
        await delay("infinite");
      }),
      http.get(`${urls.favorites}/users/:id/favorites`, async ({ request }) => {
        signals.push(request.signal);
        await delay("infinite");
      }),
    );
    const { status, body, ms } = await call(app, "/products/all", { user: "1" });
    expect(status).toBe(504);
    expect(body.error.code).toBe("UPSTREAM_TIMEOUT");
    expect(ms).toBeGreaterThanOrEqual(DEADLINES.productsMs - 5);
    expect(ms).toBeLessThan(DEADLINES.productsMs + SLACK_MS);
    expect(signals).toHaveLength(2);
    expect(signals.every((s) => s.aborted)).toBe(true);
  });

  test("products answering headers but stalling the body still hits the deadline", async () => {
    server.use(
      http.get(`${urls.products}/products`, () => {
        const body = new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode("[")) });
        return new HttpResponse(body, { headers: { "content-type": "application/json" } });
      }),
    );
    const { status, ms } = await call(app, "/products/all", { user: "1" });
    expect(status).toBe(504);
    expect(ms).toBeLessThan(DEADLINES.productsMs + SLACK_MS);
  });

  test("products refusing connections: 502 UPSTREAM_ERROR, and the optional calls are aborted", async () => {
    const signals: AbortSignal[] = [];
    server.use(
      http.get(`${urls.products}/products`, async () => {
        await delay(20);
        return HttpResponse.error();
      }),
      http.get(`${urls.cart}/users/:id/cart`, async ({ request }) => {
        signals.push(request.signal);
        await delay("infinite");
      }),
    );
    const { status, body, ms } = await call(app, "/products/all", { user: "1" });
    expect(status).toBe(502);
    expect(body).toEqual({ error: { code: "UPSTREAM_ERROR", message: "products could not be reached" } });
    expect(ms).toBeLessThan(DEADLINES.productsMs);
    expect(signals).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(true);
  });

  test.each([
    ["a 500", () => HttpResponse.json({ error: "boom" }, { status: 500 })],
    ["a body that is not JSON", () => new HttpResponse("<html>oops</html>", { headers: { "content-type": "text/html" } })],
    ["JSON of the wrong shape", () => HttpResponse.json({ products: [] })],
    ["items without product_name", () => HttpResponse.json([{ product_id: 1 }])],
  ])("products answering %s: 502 UPSTREAM_ERROR", async (_, resolver) => {
    server.use(http.get(`${urls.products}/products`, resolver));
    const { status, body } = await call(app, "/products/all", { user: "1" });
    expect(status).toBe(502);
    expect(body.error.code).toBe("UPSTREAM_ERROR");
  });

  test("cart late: cart_items null, named in degraded, still 200 within the deadline", async () => {
    server.use(http.get(`${urls.cart}/users/:id/cart`, () => delay("infinite")));
    const { status, body, ms } = await call(app, "/products/all", { user: "1" });
    expect(status).toBe(200);
    expect(body.cart_items).toBeNull();
    expect(body.favorite_items).toBe(3);
    expect(body.degraded).toEqual(["cart"]);
    expect(body.products.map((p: any) => p.inventory)).toEqual([17, 5, 0]);
    expect(ms).toBeLessThan(DEADLINES.productsMs + SLACK_MS);
  });

  test("favorites failing: favorite_items null and named in degraded", async () => {
    server.use(http.get(`${urls.favorites}/users/:id/favorites`, () => HttpResponse.json({ error: {} }, { status: 503 })));
    const { status, body } = await call(app, "/products/all", { user: "1" });
    expect(status).toBe(200);
    expect(body.favorite_items).toBeNull();
    expect(body.cart_items).toBe(2);
    expect(body.degraded).toEqual(["favorites"]);
  });

  test("cart and favorites both failing are named in a stable order", async () => {
    server.use(
      http.get(`${urls.cart}/users/:id/cart`, async () => {
        await delay(30);
        return HttpResponse.error();
      }),
      http.get(`${urls.favorites}/users/:id/favorites`, () => HttpResponse.error()),
    );
    const { body } = await call(app, "/products/all", { user: "1" });
    expect(body.degraded).toEqual(["cart", "favorites"]);
  });

  test.each([
    ["failing", () => HttpResponse.error()],
    ["answering 500", () => HttpResponse.json({}, { status: 500 })],
    ["answering a bad shape", () => HttpResponse.json([{ product_id: 1, inventory: -4 }])],
    ["hanging", () => delay("infinite")],
  ])("inventory %s: every inventory is null and inventory is degraded", async (_, resolver) => {
    server.use(http.get(`${urls.inventory}/inventory`, resolver as any));
    const { status, body, ms } = await call(app, "/products/all", { user: "1" });
    expect(status).toBe(200);
    expect(body.products).toEqual(catalogue.map(({ product_id, product_name, price_cents }) => ({ product_id, product_name, price_cents, inventory: null })));
    expect(body.degraded).toEqual(["inventory"]);
    expect(body.cart_items).toBe(2);
    expect(ms).toBeLessThan(DEADLINES.productsMs + DEADLINES.inventoryMs + SLACK_MS);
  });

  test("everything slow but in time: the answer waits for all and drops nothing", async () => {
    const slow = (ms: number, body: object) => async () => {
      await delay(ms);
      return HttpResponse.json(body);
    };
    server.use(
      http.get(`${urls.products}/products`, slow(60, catalogue)),
      http.get(`${urls.cart}/users/:id/cart`, slow(90, [{ product_id: 1, quantity: 1 }])),
    );
    const { body } = await call(app, "/products/all", { user: "1" });
    expect(body.degraded).toEqual([]);
    expect(body.cart_items).toBe(1);
  });

  test("a product the inventory does not know has null inventory without degrading", async () => {
    server.use(http.get(`${urls.inventory}/inventory`, () => HttpResponse.json([{ product_id: 1, inventory: 5 }])));
    const { body } = await call(app, "/products/all");
    expect(body.products.map((p: any) => p.inventory)).toEqual([null, 5, null]);
    expect(body.degraded).toEqual([]);
  });

  test("an empty catalogue does not call inventory", async () => {
    server.use(
      http.get(`${urls.products}/products`, () => HttpResponse.json([])),
      http.get(`${urls.inventory}/inventory`, () => HttpResponse.error()),
    );
    const { status, body } = await call(app, "/products/all");
    expect(status).toBe(200);
    expect(body).toEqual({ cart_items: null, favorite_items: null, products: [], degraded: [], next_after: null });
  });

  test("limit and after go to the products service; a full page gives next_after", async () => {
    let asked = "";
    server.use(
      http.get(`${urls.products}/products`, ({ request }) => {
        asked = new URL(request.url).search;
        return HttpResponse.json(catalogue.slice(0, 2));
      }),
    );
    const { body } = await call(app, "/products/all?limit=2&after=7");
    expect(asked).toBe("?limit=2&after=7");
    expect(body.next_after).toBe(1);
  });

  test("x-user-id is not trusted: without a token the listing is anonymous and no user's cart or favorites is asked for", async () => {
    const called: string[] = [];
    server.events.on("request:start", ({ request }) => called.push(new URL(request.url).host));
    const { status, body } = await call(app, "/products/all", { headers: { "x-user-id": "1" } });
    server.events.removeAllListeners();
    expect(status).toBe(200);
    expect(body.cart_items).toBeNull();
    expect(body.favorite_items).toBeNull();
    expect(called.sort()).toEqual(["inventory.test", "products.test"]);
  });

  test("the user's own token goes to cart and favorites, and their path is the token's user", async () => {
    const seen: string[] = [];
    server.events.on("request:start", ({ request }) => {
      const url = new URL(request.url);
      if (url.host === "cart.test" || url.host === "favorites.test") seen.push(`${url.pathname} ${request.headers.get("authorization")?.slice(0, 7)}`);
    });
    const { status, body } = await call(app, "/products/all", { user: 4 });
    server.events.removeAllListeners();
    expect(status).toBe(200);
    expect(body.cart_items).toBe(2);
    expect(seen.sort()).toEqual(["/users/4/cart Bearer ", "/users/4/favorites Bearer "]);
  });

  test.each([
    ["another scheme", "Basic dXNlcjE6cGFzcw=="],
    ["a malformed token", "Bearer not-a-jwt"],
    ["an empty bearer", "Bearer "],
  ])("%s: 401 with WWW-Authenticate, nothing called", async (_, authorization) => {
    const called: string[] = [];
    server.events.on("request:start", ({ request }) => called.push(request.url));
    const { status, body, headers } = await call(app, "/products/all", { headers: { authorization } });
    server.events.removeAllListeners();
    expect(status).toBe(401);
    expect(body.error.code).toBe("UNAUTHENTICATED");
    expect(headers.get("www-authenticate")).toStartWith("Bearer");
    expect(called).toEqual([]);
  });

  test.each(["limit=0", "limit=101", "after=x", "foo=1"])("query %s is a 400", async (qs) => {
    const { status, body } = await call(app, `/products/all?${qs}`);
    expect(status).toBe(400);
    expect(body.error.code).toBe("BAD_REQUEST");
  });
});
