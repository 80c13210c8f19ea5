// POST /checkout through the BFF, against an msw stand-in for the orders service: what is forwarded (path,
// token, Idempotency-Key, body), each answer of the orders contract passed on with its headers, what is
// refused before anything is called, and the orders upstream failing, hanging and tripping its breaker.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { delay, http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { createApp } from "../app.ts";
import { call, DEADLINES, issuer, NO_CACHE, testApp, urls } from "../test-upstreams.ts";

// What reached the orders stand-in, noted as each request starts (so every request counts, whoever answers).
type Seen = { method: string; path: string; authorization: string | null; key: string | null; deadline: number; body: unknown };
let requests: Promise<Seen>[] = [];
const note = async (request: Request): Promise<Seen> => {
  const text = await request.clone().text();
  return {
    method: request.method,
    path: new URL(request.url).pathname,
    authorization: request.headers.get("authorization"),
    key: request.headers.get("idempotency-key"),
    deadline: Number(request.headers.get("x-deadline-ms")),
    body: text ? JSON.parse(text) : null,
  };
};
const received = () => Promise.all(requests);

const confirmed = { order_id: 41, status: "confirmed", total_cents: 6270, items: [{ product_id: 1, quantity: 2, price_cents: 2490 }, { product_id: 2, quantity: 1, price_cents: 1290 }] };
const envelope = (code: string, message: string, details: Record<string, unknown> = {}) => ({ error: { code, message, ...details } });
const ordersAnswer = (answer: () => Response | Promise<Response>) => server.use(http.post(`${urls.orders}/users/:id/orders`, answer));

const server = setupServer(http.post(`${urls.orders}/users/:id/orders`, () => HttpResponse.json(confirmed, { status: 201 })));
beforeAll(() => {
  server.listen({ onUnhandledRequest: "error" });
  server.events.on("request:start", ({ request }) => void requests.push(note(request)));
});
afterEach(() => {
  server.resetHandlers();
  requests = [];
});
afterAll(() => server.close());

let app: ReturnType<typeof createApp>;
beforeEach(() => {
  app = testApp();
});

const KEY = "3f1c9a52-7a7e-4c1b-9a59-2f0f5f3b8d11";
const order = {
  shipping_address: { name: "Ada Lovelace", line1: "12 St James's Square", city: "London", postal_code: "SW1Y 4JH", country: "GB" },
  delivery_date: "2026-12-01",
  card_token: "tok_visa",
};
const checkout = (init: { body?: unknown; key?: string | null; user?: number; headers?: Record<string, string> } = {}) => {
  const headers: Record<string, string> = { ...init.headers };
  if (init.key !== null) headers["idempotency-key"] = init.key ?? KEY;
  const body = init.body === undefined ? order : init.body;
  return call(app, "/checkout", { method: "POST", user: init.user ?? 7, headers, body: typeof body === "string" ? body : JSON.stringify(body) });
};

describe("POST /checkout is forwarded to orders", () => {
  test("as POST /users/<caller>/orders with the caller's token, the Idempotency-Key and the body; orders' 201 comes back as it is", async () => {
    const auth = await issuer.auth(7);
    const res = await call(app, "/checkout", { method: "POST", headers: { ...auth, "idempotency-key": KEY }, body: JSON.stringify(order) });
    expect(res.status).toBe(201);
    expect(res.body).toEqual(confirmed);
    expect(res.headers.get("idempotent-replayed")).toBeNull();
    const seen = await received();
    expect(seen.map(({ deadline, ...rest }) => rest)).toEqual([
      { method: "POST", path: "/users/7/orders", authorization: auth.authorization, key: KEY, body: order },
    ]);
  });

  test("without delivery_date the body goes as it came (orders picks the date)", async () => {
    const { delivery_date, ...asap } = order;
    expect((await checkout({ body: asap })).status).toBe(201);
    expect((await received())[0]!.body).toEqual(asap);
  });

  test("a replay's Idempotent-Replayed: true is passed on", async () => {
    ordersAnswer(() => HttpResponse.json(confirmed, { status: 201, headers: { "idempotent-replayed": "true" } }));
    const res = await checkout();
    expect(res.status).toBe(201);
    expect(res.headers.get("idempotent-replayed")).toBe("true");
  });

  test("202 pending: Location is rewritten to the BFF's /orders/<id>", async () => {
    for (const upstreamLocation of ["/orders/55", "/users/7/orders/55", "http://127.0.0.1:8006/users/7/orders/55"]) {
      ordersAnswer(() => HttpResponse.json({ order_id: 55, status: "pending" }, { status: 202, headers: { location: upstreamLocation } }));
      const res = await checkout();
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ order_id: 55, status: "pending" });
      expect(res.headers.get("location"), upstreamLocation).toBe("/orders/55");
    }
  });

  test("a Location that names no order is dropped rather than passed on", async () => {
    ordersAnswer(() => HttpResponse.json({ order_id: 55, status: "pending" }, { status: 202, headers: { location: "/internal/queue/9" } }));
    const res = await checkout();
    expect(res.status).toBe(202);
    expect(res.headers.get("location")).toBeNull();
  });

  test.each([
    ["400 CART_EMPTY", 400, envelope("CART_EMPTY", "the cart is empty"), {}],
    ["402 PAYMENT_DECLINED with its order_id", 402, envelope("PAYMENT_DECLINED", "the card was declined", { order_id: 41 }), { "idempotent-replayed": "true" }],
    [
      "409 OUT_OF_STOCK with its products and order_id",
      409,
      envelope("OUT_OF_STOCK", "not enough stock", { order_id: 41, products: [{ product_id: 2, requested: 3, available: 1 }] }),
      {},
    ],
    ["409 IDEMPOTENCY_IN_PROGRESS with Retry-After", 409, envelope("IDEMPOTENCY_IN_PROGRESS", "a request with this key is running"), { "retry-after": "2" }],
    ["422 IDEMPOTENCY_KEY_REUSED", 422, envelope("IDEMPOTENCY_KEY_REUSED", "this key was used with another body"), {}],
    ["409 CONFLICT with the product_ids no longer sold", 409, envelope("CONFLICT", "no longer sold: product 9", { product_ids: [9] }), {}],
    ["409 ORDER_CANCELLED with its order_id", 409, envelope("ORDER_CANCELLED", "the order was cancelled", { order_id: 41 }), {}],
    ["404 NOT_FOUND", 404, envelope("NOT_FOUND", "no user 7"), {}],
  ] as const)("orders' %s comes back as it is, headers included", async (_, status, body, headers) => {
    ordersAnswer(() => HttpResponse.json(body, { status, headers }));
    const res = await checkout();
    expect(res.status).toBe(status);
    expect(res.body).toEqual(body);
    for (const [name, value] of Object.entries(headers)) expect(res.headers.get(name)).toBe(value);
  });

  test("orders' 503 UPSTREAM_UNAVAILABLE (nothing written) is a 503 UPSTREAM_UNAVAILABLE with its Retry-After, in our words", async () => {
    ordersAnswer(() => HttpResponse.json(envelope("UPSTREAM_UNAVAILABLE", "inventory at 10.0.3.7 could not be reached"), { status: 503, headers: { "retry-after": "3" } }));
    const res = await checkout();
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(res.body.error.message).not.toContain("10.0.3.7");
    expect(res.headers.get("retry-after")).toBe("3");
    ordersAnswer(() => HttpResponse.json(envelope("UPSTREAM_UNAVAILABLE", "cart could not be reached"), { status: 503 }));
    expect((await checkout()).headers.get("retry-after")).toBe("1");
  });

  test("orders' other 5xx is a 502 UPSTREAM_ERROR that shows nothing of its body", async () => {
    ordersAnswer(() => HttpResponse.text("stack trace here", { status: 500 }));
    const res = await checkout();
    expect(res.status).toBe(502);
    expect(res.body).toEqual({ error: { code: "UPSTREAM_ERROR", message: "orders answered 500" } });
  });
});

describe("POST /checkout refuses before calling orders", () => {
  test.each([
    ["no Idempotency-Key", null],
    ["an empty Idempotency-Key", ""],
    ["a key of 256 characters", "k".repeat(256)],
    ["a key with a space", "abc def"],
    ["a key with a tab", "abc\tdef"],
    ["a key with a non-ASCII character", "clé-1"],
  ] as const)("%s: 400 BAD_REQUEST in the envelope", async (_, key) => {
    const res = await checkout({ key });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("BAD_REQUEST");
    expect(res.body.error.message).toContain("idempotency-key");
    expect(await received()).toEqual([]);
  });

  test("a key of 255 visible ASCII characters, punctuation included, is accepted", async () => {
    const key = `${"!~#".repeat(84)}xyz`;
    expect(key).toHaveLength(255);
    expect((await checkout({ key })).status).toBe(201);
    expect((await received())[0]!.key).toBe(key);
  });

  const address = order.shipping_address;
  const withAddress = (change: Record<string, unknown>) => ({ ...order, shipping_address: { ...address, ...change } });
  test.each([
    ["no body", ""],
    ["malformed JSON", "{nope"],
    ["no shipping_address", { card_token: "tok_visa" }],
    ["no card_token", { shipping_address: address }],
    ["an unknown field", { ...order, coupon: "FREE" }],
    ["an unknown address field", withAddress({ line2: "Flat 2" })],
    ["an empty name", withAddress({ name: "" })],
    ["a name of spaces only", withAddress({ name: "   " })],
    ["a name of 101 characters", withAddress({ name: "n".repeat(101) })],
    ["a line1 of 201 characters", withAddress({ line1: "l".repeat(201) })],
    ["an empty city", withAddress({ city: "" })],
    ["a postal_code of 21 characters", withAddress({ postal_code: "p".repeat(21) })],
    ["a lower-case country", withAddress({ country: "gb" })],
    ["a three-letter country", withAddress({ country: "GBR" })],
    ["a country as a number", withAddress({ country: 44 })],
    ["a day that does not exist", { ...order, delivery_date: "2026-02-30" }],
    ["29 February of a common year", { ...order, delivery_date: "2027-02-29" }],
    ["a date without leading zeros", { ...order, delivery_date: "2026-2-1" }],
    ["a date and time", { ...order, delivery_date: "2026-12-01T10:00:00Z" }],
    ["an empty card_token", { ...order, card_token: "" }],
    ["a card_token of 65 characters", { ...order, card_token: "t".repeat(65) }],
  ] as const)("%s: 400 BAD_REQUEST, nothing forwarded", async (_, body) => {
    const res = await checkout({ body });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("BAD_REQUEST");
    expect(await received()).toEqual([]);
  });

  test("address fields go to orders trimmed, as orders would store them", async () => {
    expect((await checkout({ body: withAddress({ name: "  Ada Lovelace ", city: " London" }) })).status).toBe(201);
    expect(((await received())[0]!.body as typeof order).shipping_address).toEqual(address);
  });

  test("the longest fields and 29 February of a leap year are accepted", async () => {
    const longest = withAddress({ name: "n".repeat(100), line1: "l".repeat(200), city: "c".repeat(100), postal_code: "p".repeat(20) });
    expect((await checkout({ body: { ...longest, delivery_date: "2028-02-29", card_token: "t".repeat(64) } })).status).toBe(201);
  });

  test("no token: 401 with a Bearer challenge, even without a key or with a bad body; nothing forwarded", async () => {
    for (const init of [{}, { key: null }, { body: "{nope" }] as const) {
      const headers: Record<string, string> = init.key === null ? {} : { "idempotency-key": KEY };
      const res = await call(app, "/checkout", { method: "POST", headers, body: "body" in init ? init.body : JSON.stringify(order) });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("UNAUTHENTICATED");
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
    }
    expect(await received()).toEqual([]);
  });

  test("a service token: 403 FORBIDDEN (it has no cart), even without a key or with a bad body; nothing forwarded", async () => {
    const auth = await issuer.auth("notifications", "service");
    for (const [headers, body] of [
      [{ ...auth, "idempotency-key": KEY }, JSON.stringify(order)],
      [auth, JSON.stringify(order)],
      [{ ...auth, "idempotency-key": KEY }, JSON.stringify({ card_token: "" })],
    ] as const) {
      const res = await call(app, "/checkout", { method: "POST", headers, body });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
    }
    expect(await received()).toEqual([]);
  });
});

describe("POST /checkout's deadline", () => {
  test("is checkoutMs, not the write deadline: orders answering after writeMs is still a 201, and is told the time left", async () => {
    app = createApp({ urls, verifier: issuer.verifier, deadlines: { ...DEADLINES, writeMs: 100, checkoutMs: 5000 }, productsCache: NO_CACHE });
    ordersAnswer(async () => {
      await delay(300);
      return HttpResponse.json(confirmed, { status: 201 });
    });
    const res = await checkout();
    expect(res.status).toBe(201);
    const [seen] = await received();
    expect(seen!.deadline).toBeGreaterThan(100);
    expect(seen!.deadline).toBeLessThanOrEqual(5000);
  });

  test("orders slower than checkoutMs: 504 UPSTREAM_TIMEOUT in the envelope within the deadline, the call aborted and not retried", async () => {
    const checkoutMs = 300;
    app = createApp({ urls, verifier: issuer.verifier, deadlines: { ...DEADLINES, checkoutMs }, productsCache: NO_CACHE });
    let signal: AbortSignal | undefined;
    server.use(
      http.post(`${urls.orders}/users/:id/orders`, async ({ request }) => {
        signal = request.signal;
        await delay("infinite");
      }),
    );
    const res = await checkout();
    expect(res.status).toBe(504);
    expect(res.body).toEqual({ error: { code: "UPSTREAM_TIMEOUT", message: `orders did not answer within ${checkoutMs} ms` } });
    // Well under a second retry's worth: the bound is the deadline plus scheduling, not two deadlines.
    expect(res.ms).toBeLessThan(checkoutMs + 250);
    expect(signal?.aborted).toBe(true);
    expect(await received()).toHaveLength(1);
  });
});

describe("the orders breaker", () => {
  const BREAKER = { windowMs: 10_000, minCalls: 5, failureRatio: 0.5, openMs: 5_000, halfOpenProbes: 1, slowCallMs: 50, slowCallRatio: 1 };
  let now = 0;
  beforeEach(() => {
    now = 1_000_000;
    const deadlines = { ...DEADLINES, checkoutMs: 5_000 };
    app = createApp({ urls, verifier: issuer.verifier, deadlines, breaker: BREAKER, now: () => now, onBreakerChange: () => {}, productsCache: NO_CACHE });
  });
  const ordersBreaker = async () => (await call(app, "/health/upstreams")).body.upstreams.find((u: { name: string }) => u.name === "orders");

  test("orders unreachable: 502 per checkout (each sent once), then the breaker opens and checkout is 503 with Retry-After, orders not called", async () => {
    ordersAnswer(() => HttpResponse.error());
    for (let i = 0; i < BREAKER.minCalls; i++) {
      const res = await checkout();
      expect(res.status).toBe(502);
      expect(res.body).toEqual({ error: { code: "UPSTREAM_ERROR", message: "orders could not be reached" } });
    }
    expect(await received()).toHaveLength(BREAKER.minCalls);
    expect((await ordersBreaker()).state).toBe("open");

    now += 1_500;
    const res = await checkout();
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(res.headers.get("retry-after")).toBe("4"); // 3.5 s left, rounded up
    // The reads share the breaker: GET /orders is refused too.
    const list = await call(app, "/orders", { user: 7 });
    expect(list.status).toBe(503);
    expect(await received()).toHaveLength(BREAKER.minCalls);
  });

  test("after the open duration a probe reaches orders, and a healthy answer closes the breaker", async () => {
    ordersAnswer(() => HttpResponse.error());
    for (let i = 0; i < BREAKER.minCalls; i++) await checkout();
    server.resetHandlers();
    now += BREAKER.openMs;
    expect((await checkout()).status).toBe(201);
    expect((await ordersBreaker()).state).toBe("closed");
  });

  test("checkouts slower than the shared slow-call threshold do not open it: checkout is slow by design", async () => {
    // The fake clock moves on while orders "works": each call lasts 2 s by the breaker's clock, far over the
    // shared slowCallMs (50 ms) and under checkoutMs (5 s).
    ordersAnswer(() => {
      now += 2_000;
      return HttpResponse.json(confirmed, { status: 201 });
    });
    for (let i = 0; i < BREAKER.minCalls + 2; i++) expect((await checkout()).status).toBe(201);
    expect(await ordersBreaker()).toMatchObject({ state: "closed", slow: 0 });
  });
});
