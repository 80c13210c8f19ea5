import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { delay, http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { call, DEADLINES, testApp, urls } from "../test-upstreams.ts";

// Records what reached the fake cart/favorites services.
let received: { method: string; path: string; body: unknown }[] = [];
const record = async (request: Request) => {
  const text = await request.text();
  received.push({ method: request.method, path: new URL(request.url).pathname, body: text ? JSON.parse(text) : null });
};

const server = setupServer(
  http.all(`${urls.cart}/*`, async ({ request }) => {
    await record(request);
    if (request.method === "DELETE") return new HttpResponse(null, { status: 204 });
    if (request.method === "GET") return HttpResponse.json([{ product_id: 1, quantity: 2 }]);
    const body = received.at(-1)!.body as { product_id?: number; quantity?: number };
    return HttpResponse.json({ product_id: body.product_id ?? 4, quantity: body.quantity ?? 1 });
  }),
  http.all(`${urls.notifications}/*`, async ({ request }) => {
    await record(request);
    const url = new URL(request.url);
    if (request.method === "GET") return HttpResponse.json([{ id: 9, type: "stock.back_in_stock", read_at: null, query: url.search }]);
    if (url.pathname.startsWith("/users/3/")) return HttpResponse.json({ error: { code: "NOT_FOUND", message: "no notification 9" } }, { status: 404 });
    return HttpResponse.json({ id: 9, read_at: "2026-11-21T00:00:00Z" });
  }),
  http.all(`${urls.favorites}/*`, async ({ request }) => {
    await record(request);
    if (request.method === "DELETE") return new HttpResponse(null, { status: 204 });
    if (request.method === "GET") return HttpResponse.json([{ product_id: 1 }]);
    return HttpResponse.json({ product_id: 4 }, { status: 201 });
  }),
);
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  server.resetHandlers();
  received = [];
});
afterAll(() => server.close());

// A fresh app per test: each has its own breakers and stale copy.
let app: ReturnType<typeof testApp>;
beforeEach(() => {
  app = testApp();
});
const json = (method: string, body: unknown, user = "7") => ({ method, body: JSON.stringify(body), user });

describe("cart through the BFF", () => {
  test("GET /cart reads the user's cart", async () => {
    const { status, body } = await call(app, "/cart", { user: "7" });
    expect(status).toBe(200);
    expect(body).toEqual([{ product_id: 1, quantity: 2 }]);
    expect(received).toEqual([{ method: "GET", path: "/users/7/cart", body: null }]);
  });

  test("POST /cart adds to the user's cart", async () => {
    const { status, body } = await call(app, "/cart", json("POST", { product_id: 4, quantity: 2 }));
    expect(status).toBe(200);
    expect(body).toEqual({ product_id: 4, quantity: 2 });
    expect(received).toEqual([{ method: "POST", path: "/users/7/cart", body: { product_id: 4, quantity: 2 } }]);
  });

  test("PUT /cart/:product_id sets the quantity; DELETE removes with 204", async () => {
    expect((await call(app, "/cart/4", json("PUT", { quantity: 5 }))).status).toBe(200);
    const del = await call(app, "/cart/4", { method: "DELETE", user: "7" });
    expect(del.status).toBe(204);
    expect(del.body).toBeNull();
    expect(received).toEqual([
      { method: "PUT", path: "/users/7/cart/4", body: { quantity: 5 } },
      { method: "DELETE", path: "/users/7/cart/4", body: null },
    ]);
  });

  test.each([
    ["no body", { method: "POST", user: "7" }],
    ["malformed JSON", { method: "POST", user: "7", body: "{nope" }],
    ["quantity 0", json("POST", { product_id: 4, quantity: 0 })],
    ["quantity 1000", json("POST", { product_id: 4, quantity: 1000 })],
    ["quantity as a string", json("POST", { product_id: 4, quantity: "2" })],
    ["an unknown field", json("POST", { product_id: 4, coupon: "FREE" })],
    ["product_id -1", json("POST", { product_id: -1 })],
  ] as const)("POST /cart with %s is a 400 that never reaches the cart service", async (_, init) => {
    const { status, body } = await call(app, "/cart", init as any);
    expect(status).toBe(400);
    expect(body.error.code).toBe("BAD_REQUEST");
    expect(received).toEqual([]);
  });

  test("PUT /cart/abc is a 400", async () => {
    const { status } = await call(app, "/cart/abc", json("PUT", { quantity: 1 }));
    expect(status).toBe(400);
    expect(received).toEqual([]);
  });

  test("without a token: 401 UNAUTHENTICATED with WWW-Authenticate, even with a bad body, and nothing forwarded", async () => {
    for (const [path, init] of [
      ["/cart", {}],
      ["/cart", { method: "POST", body: "{bad" }],
      ["/favorites", { method: "POST", body: JSON.stringify({ product_id: 1 }) }],
      ["/favorites/1", { method: "DELETE" }],
    ] as const) {
      const { status, body, headers } = await call(app, path, { ...(init as RequestInit), headers: { "x-user-id": "1" } });
      expect(status).toBe(401);
      expect(body.error.code).toBe("UNAUTHENTICATED");
      expect(headers.get("www-authenticate")).toStartWith("Bearer");
    }
    expect(received).toEqual([]);
  });

  test("the cart service's 4xx goes back as it is", async () => {
    const envelope = { error: { code: "CONFLICT", message: "quantity would exceed 999" } };
    server.use(http.post(`${urls.cart}/users/:id/cart`, () => HttpResponse.json(envelope, { status: 409 })));
    const { status, body } = await call(app, "/cart", json("POST", { product_id: 4, quantity: 999 }));
    expect(status).toBe(409);
    expect(body).toEqual(envelope);
  });

  test("the cart service's 5xx becomes 502 UPSTREAM_ERROR", async () => {
    server.use(http.post(`${urls.cart}/users/:id/cart`, () => HttpResponse.text("stack trace here", { status: 500 })));
    const { status, body } = await call(app, "/cart", json("POST", { product_id: 4 }));
    expect(status).toBe(502);
    expect(body).toEqual({ error: { code: "UPSTREAM_ERROR", message: "cart answered 500" } });
  });

  test("the cart service unreachable: 502", async () => {
    server.use(http.post(`${urls.cart}/users/:id/cart`, () => HttpResponse.error()));
    const { status, body } = await call(app, "/cart", json("POST", { product_id: 4 }));
    expect(status).toBe(502);
    expect(body.error.message).toBe("cart could not be reached");
  });

  test("the cart service hanging: 504 within the write deadline, the request aborted", async () => {
    let signal: AbortSignal | undefined;
    server.use(
      http.post(`${urls.cart}/users/:id/cart`, async ({ request }) => {
        signal = request.signal;
        await delay("infinite");
      }),
    );
    const { status, body, ms } = await call(app, "/cart", json("POST", { product_id: 4 }));
    expect(status).toBe(504);
    expect(body.error.code).toBe("UPSTREAM_TIMEOUT");
    expect(ms).toBeLessThan(DEADLINES.writeMs + 100);
    expect(signal?.aborted).toBe(true);
  });
});

describe("favorites through the BFF", () => {
  test("GET, POST and DELETE reach the favorites service for the calling user", async () => {
    expect((await call(app, "/favorites", { user: "3" })).body).toEqual([{ product_id: 1 }]);
    const added = await call(app, "/favorites", json("POST", { product_id: 4 }, "3"));
    expect(added.status).toBe(201);
    expect(added.body).toEqual({ product_id: 4 });
    expect((await call(app, "/favorites/4", { method: "DELETE", user: "3" })).status).toBe(204);
    expect(received).toEqual([
      { method: "GET", path: "/users/3/favorites", body: null },
      { method: "POST", path: "/users/3/favorites", body: { product_id: 4 } },
      { method: "DELETE", path: "/users/3/favorites/4", body: null },
    ]);
  });

  test("POST /favorites with an extra field is a 400", async () => {
    const { status } = await call(app, "/favorites", json("POST", { product_id: 4, note: "x" }));
    expect(status).toBe(400);
    expect(received).toEqual([]);
  });
});

describe("notifications through the BFF", () => {
  test("GET /notifications reads the calling user's inbox, passing limit and before", async () => {
    const { status, body } = await call(app, "/notifications?limit=5&before=40", { user: "7" });
    expect(status).toBe(200);
    expect(body[0].query).toBe("?limit=5&before=40");
    expect(received).toEqual([{ method: "GET", path: "/users/7/notifications", body: null }]);
  });

  test("POST /notifications/:id/read marks it read; another user's notification is the service's 404", async () => {
    const mine = await call(app, "/notifications/9/read", { method: "POST", user: "7" });
    expect(mine.status).toBe(200);
    expect(mine.body.read_at).not.toBeNull();
    const theirs = await call(app, "/notifications/9/read", { method: "POST", user: "3" });
    expect(theirs.status).toBe(404);
    expect(theirs.body.error.code).toBe("NOT_FOUND");
    expect(received.map((r) => r.path)).toEqual(["/users/7/notifications/9/read", "/users/3/notifications/9/read"]);
  });

  test.each([
    ["/notifications?limit=0", "GET"],
    ["/notifications?limit=101", "GET"],
    ["/notifications?page=2", "GET"],
    ["/notifications/abc/read", "POST"],
  ])("%s (%s) is a 400 that reaches nothing", async (path, method) => {
    const { status } = await call(app, path, { method, user: "7" });
    expect(status).toBe(400);
    expect(received).toEqual([]);
  });

  test("without a token: 401 (x-user-id is not trusted)", async () => {
    expect((await call(app, "/notifications", { headers: { "x-user-id": "7" } })).status).toBe(401);
    expect(received).toEqual([]);
  });
});

describe("BFF health", () => {
  test("/health and /ready answer with no upstream up", async () => {
    expect((await call(app, "/health")).status).toBe(200);
    expect((await call(app, "/ready")).status).toBe(200);
    expect(received).toEqual([]);
  });

  test("unknown route: 404 in the envelope", async () => {
    const { status, body } = await call(app, "/nowhere");
    expect(status).toBe(404);
    expect(body.error.code).toBe("NOT_FOUND");
  });
});
