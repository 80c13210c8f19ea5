// GET /orders, GET /orders/:id and POST /orders/:id/cancel through the BFF, against an msw stand-in for the
// orders service: the caller's own path and token, the answers passed on, bad input and callers refused
// before anything is called, and which deadline bounds each route.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { delay, http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { createApp } from "../app.ts";
import { responseProblem } from "../openapi.ts";
import { call, DEADLINES, issuer, NO_CACHE, testApp, urls } from "../test-upstreams.ts";

type Seen = { method: string; path: string; search: string; authorization: string | null; body: string };
let requests: Promise<Seen>[] = [];
const note = async (request: Request): Promise<Seen> => {
  const url = new URL(request.url);
  return { method: request.method, path: url.pathname, search: url.search, authorization: request.headers.get("authorization"), body: await request.clone().text() };
};
const received = () => Promise.all(requests);

const at = "2026-11-22T10:00:00.000Z";
const order = {
  order_id: 41,
  status: "confirmed",
  total_cents: 4980,
  items: [{ product_id: 1, quantity: 2, price_cents: 2490 }],
  shipping_address: { name: "Ada Lovelace", line1: "12 St James's Square", city: "London", postal_code: "SW1Y 4JH", country: "GB" },
  delivery_date: null,
  cancel_reason: null,
  created_at: at,
  updated_at: at,
  history: [{ step: "payment", outcome: "succeeded", at, detail: null }],
  delivery: null,
};
const page = { orders: [{ order_id: 41, status: "confirmed", total_cents: 4980, item_count: 2, created_at: at }], next_after: null };
const cancelled = { ...order, status: "cancelled", cancel_reason: "customer" };
const envelope = (code: string, message: string) => ({ error: { code, message } });

const server = setupServer(
  http.get(`${urls.orders}/users/:id/orders`, () => HttpResponse.json(page)),
  http.get(`${urls.orders}/users/:id/orders/:oid`, () => HttpResponse.json(order)),
  http.post(`${urls.orders}/users/:id/orders/:oid/cancel`, () => HttpResponse.json(cancelled)),
);
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

describe("the caller's orders are read from orders", () => {
  test("GET /orders reads /users/<caller>/orders with the caller's token; the page comes back as it is", async () => {
    const auth = await issuer.auth(7);
    const res = await call(app, "/orders", { headers: auth });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(page);
    expect(await received()).toEqual([{ method: "GET", path: "/users/7/orders", search: "", authorization: auth.authorization, body: "" }]);
  });

  test("GET /orders passes after and limit on", async () => {
    expect((await call(app, "/orders?after=41&limit=5", { user: 7 })).status).toBe(200);
    expect((await received()).map((r) => r.search)).toEqual(["?after=41&limit=5"]);
  });

  test("GET /orders/:id reads /users/<caller>/orders/:id; another user's order is orders' 404, passed on", async () => {
    const mine = await call(app, "/orders/41", { user: 7 });
    expect(mine.status).toBe(200);
    expect(mine.body).toEqual(order);
    server.use(http.get(`${urls.orders}/users/:id/orders/:oid`, () => HttpResponse.json(envelope("NOT_FOUND", "no order 41"), { status: 404 })));
    const theirs = await call(app, "/orders/41", { user: 3 });
    expect(theirs.status).toBe(404);
    expect(theirs.body).toEqual(envelope("NOT_FOUND", "no order 41"));
    expect((await received()).map((r) => `${r.method} ${r.path}`)).toEqual(["GET /users/7/orders/41", "GET /users/3/orders/41"]);
  });
});

describe("an order's delivery", () => {
  test.each([
    ["shipped: a courier has it", { ...order, status: "shipped", delivery: { status: "activated", courier_name: "Courier One", updated_at: at } }],
    ["delivered", { ...order, status: "delivered", delivery: { status: "done", courier_name: "Courier One", updated_at: at } }],
    ["its delivery cancelled with the order", { ...cancelled, delivery: { status: "canceled", courier_name: null, updated_at: at } }],
  ])("GET /orders/:id of an order %s comes back as it is, and as documented", async (_, answer) => {
    server.use(http.get(`${urls.orders}/users/:id/orders/:oid`, () => HttpResponse.json(answer)));
    const res = await call(app, "/orders/41", { user: 7 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(answer);
    expect(responseProblem("GET", "/orders/41", 200, res.body)).toBeUndefined();
  });
});

describe("POST /orders/:id/cancel", () => {
  test("is forwarded (no body) to /users/<caller>/orders/:id/cancel with the caller's token; 200 comes back as it is", async () => {
    const auth = await issuer.auth(7);
    const res = await call(app, "/orders/41/cancel", { method: "POST", headers: auth });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(cancelled);
    expect(await received()).toEqual([{ method: "POST", path: "/users/7/orders/41/cancel", search: "", authorization: auth.authorization, body: "" }]);
  });

  test.each([
    ["202 while compensations run", 202, { ...order, status: "cancelling" }],
    ["409 NOT_CANCELLABLE once shipped", 409, envelope("NOT_CANCELLABLE", "order 41 has shipped")],
    ["404 for another user's order", 404, envelope("NOT_FOUND", "no order 41")],
  ] as const)("orders' %s comes back as it is", async (_, status, body) => {
    server.use(http.post(`${urls.orders}/users/:id/orders/:oid/cancel`, () => HttpResponse.json(body, { status })));
    const res = await call(app, "/orders/41/cancel", { method: "POST", user: 7 });
    expect(res.status).toBe(status);
    expect(res.body).toEqual(body);
  });
});

describe("refused before calling orders", () => {
  test.each([
    ["GET", "/orders?limit=0"],
    ["GET", "/orders?limit=101"],
    ["GET", "/orders?after=abc"],
    ["GET", "/orders?after=0"],
    ["GET", "/orders?page=2"],
    ["GET", "/orders/abc"],
    ["GET", "/orders/0"],
    ["POST", "/orders/abc/cancel"],
    ["POST", "/orders/99999999999/cancel"],
  ])("%s %s: 400 BAD_REQUEST", async (method, path) => {
    const res = await call(app, path, { method, user: 7 });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("BAD_REQUEST");
    expect(await received()).toEqual([]);
  });

  const routes = [
    ["GET", "/orders"],
    ["GET", "/orders/41"],
    ["POST", "/orders/41/cancel"],
  ] as const;

  test("no token: 401 with a Bearer challenge on each route; nothing forwarded", async () => {
    for (const [method, path] of routes) {
      const res = await call(app, path, { method, headers: { "x-user-id": "7" } });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.body.error.code).toBe("UNAUTHENTICATED");
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
    }
    expect(await received()).toEqual([]);
  });

  test("a service token: 403 FORBIDDEN on each route, bad input or not; nothing forwarded", async () => {
    const auth = await issuer.auth("notifications", "service");
    for (const [method, path] of [...routes, ["GET", "/orders?limit=0"], ["POST", "/orders/abc/cancel"]] as const) {
      const res = await call(app, path, { method, headers: auth });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
    }
    expect(await received()).toEqual([]);
  });
});

describe("deadlines", () => {
  const hang = (method: "get" | "post", path: string) =>
    server.use(
      http[method](`${urls.orders}${path}`, async () => {
        await delay("infinite");
      }),
    );
  const late = (method: "get" | "post", path: string, body: object) =>
    server.use(
      http[method](`${urls.orders}${path}`, async () => {
        await delay(300);
        return HttpResponse.json(body);
      }),
    );

  test("reads are bounded by the write deadline: orders hanging is a 504 within it, sent once", async () => {
    hang("get", "/users/:id/orders");
    const res = await call(app, "/orders", { user: 7 });
    expect(res.status).toBe(504);
    expect(res.body).toEqual({ error: { code: "UPSTREAM_TIMEOUT", message: `orders did not answer within ${DEADLINES.writeMs} ms` } });
    expect(res.ms).toBeLessThan(DEADLINES.writeMs + 250);
    expect(await received()).toHaveLength(1);
  });

  test("a cancel is bounded by checkoutMs: an answer after writeMs still comes back", async () => {
    app = createApp({ urls, verifier: issuer.verifier, deadlines: { ...DEADLINES, writeMs: 100, checkoutMs: 5000 }, productsCache: NO_CACHE });
    late("post", "/users/:id/orders/:oid/cancel", cancelled);
    expect((await call(app, "/orders/41/cancel", { method: "POST", user: 7 })).status).toBe(200);
  });

  test("a cancel hanging past checkoutMs: 504 UPSTREAM_TIMEOUT within it, not retried", async () => {
    const checkoutMs = 300;
    app = createApp({ urls, verifier: issuer.verifier, deadlines: { ...DEADLINES, checkoutMs }, productsCache: NO_CACHE });
    hang("post", "/users/:id/orders/:oid/cancel");
    const res = await call(app, "/orders/41/cancel", { method: "POST", user: 7 });
    expect(res.status).toBe(504);
    expect(res.body.error.code).toBe("UPSTREAM_TIMEOUT");
    expect(res.ms).toBeLessThan(checkoutMs + 250);
    expect(await received()).toHaveLength(1);
  });
});
