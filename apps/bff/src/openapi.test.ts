import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { delay, http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { AppError } from "@storefront/shared/errors";
import { KeysUnavailableError } from "@storefront/shared/auth/token-verifier";
import { createApp } from "./app.ts";
import { NO_CONTENT, responseProblem, responseSchema } from "./openapi.ts";
import { DOCS_PATH, DOCUMENT_PATH, SCALAR_BUNDLE_PATH } from "./routes/docs.ts";
import { call, DEADLINES, happyHandlers, issuer, testApp, urls } from "./test-upstreams.ts";

/** Routes for operators and for the docs themselves: not part of the public API. */
const NOT_PUBLIC = new Set(["/health", "/ready", "/metrics", "/health/upstreams", DOCUMENT_PATH, DOCS_PATH, SCALAR_BUNDLE_PATH]);
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

type Doc = {
  openapi: string;
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, { responses?: Record<string, any>; parameters?: any[]; security?: Record<string, string[]>[] }>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, any> };
};

const app = testApp();
const doc = (await (await app.request(DOCUMENT_PATH)).json()) as Doc;
const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
  Object.entries(item)
    .filter(([method]) => METHODS.includes(method))
    .map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
);

describe("the OpenAPI document", () => {
  test("is OpenAPI 3.1 with a title, a version, and how to get a token with the demo users", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toBe("Storefront API");
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+$/);
    for (const words of ["POST /auth/login", "Authorization: Bearer", "user1@storefront.test", "admin@storefront.test", "courier1@storefront.test", "storefront-demo", "Idempotency-Key"]) {
      expect(doc.info.description).toContain(words);
    }
  });

  test("has every public route of the app with its method, and nothing the app does not answer", () => {
    const served = app.routes
      .filter((r) => r.method !== "ALL" && !NOT_PUBLIC.has(r.path))
      .map((r) => `${r.method} ${r.path.replace(/\/:([^/]+)/g, "/{$1}")}`);
    const documented = operations.map((o) => `${o.method} ${o.path}`);
    expect([...new Set(served)].sort()).toEqual([...documented].sort());
    expect(documented).toHaveLength(30);
  });

  test("a named schema that may be null says so: an order's delivery, a delivery's courier, a step's from", () => {
    const schemas = doc.components.schemas as Record<string, any>;
    for (const [schema, property, target] of [
      ["Order", "delivery", "OrderDelivery"],
      ["Delivery", "courier", "Courier"],
      ["DeliveryStep", "from", "DeliveryStatus"],
    ] as const) {
      const [named, nothing, ...rest] = schemas[schema].properties[property].anyOf ?? [];
      expect(JSON.stringify(named), `${schema}.${property}`).toContain(`"$ref":"#/components/schemas/${target}"`);
      expect([nothing, ...rest], `${schema}.${property}`).toEqual([{ type: "null" }]);
      expect(schemas[schema].required, `${schema}.${property}`).toContain(property);
    }
  });

  test("leaves out the operational routes and the docs", () => {
    for (const path of NOT_PUBLIC) expect(doc.paths[path]).toBeUndefined();
  });

  test("every $ref resolves", () => {
    const refs: string[] = [];
    const walk = (node: unknown) => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === "object") {
        for (const [key, value] of Object.entries(node)) {
          if (key === "$ref") refs.push(value as string);
          else walk(value);
        }
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(50);
    for (const ref of new Set(refs)) {
      expect(ref).toStartWith("#/");
      const target = ref
        .slice(2)
        .split("/")
        .reduce<any>((at, part) => at?.[part.replace(/~1/g, "/").replace(/~0/g, "~")], doc);
      expect(target, ref).toBeDefined();
    }
  });

  test("each operation has a success response, and errors in the one envelope", () => {
    for (const { method, path, op } of operations) {
      const where = `${method} ${path}`;
      const statuses = Object.keys(op.responses ?? {});
      expect(statuses.some((s) => s.startsWith("2")), where).toBe(true);
      for (const status of ["429", "500", "502", "503", "504"]) expect(statuses, where).toContain(status);
      for (const [status, response] of Object.entries(op.responses!)) {
        expect(typeof response.description, `${where} ${status}`).toBe("string");
        if (Number(status) >= 400) expect(response.content["application/json"].schema.$ref, `${where} ${status}`).toBe("#/components/schemas/ErrorBody");
      }
      if (statuses.includes("204")) expect(op.responses!["204"].content, where).toBeUndefined();
    }
  });

  test("routes that look at the token document 401 with WWW-Authenticate; register, login and refresh do not", () => {
    for (const { method, path, op } of operations) {
      const unauthenticated = op.responses!["401"];
      if (op.security) expect(unauthenticated?.headers?.["WWW-Authenticate"], `${method} ${path}`).toBeDefined();
      else expect(unauthenticated?.headers, `${method} ${path}`).toBeUndefined();
    }
    const responses = (path: string) => operations.find((o) => o.path === path)!.op.responses!;
    expect(responses("/auth/register")["401"]).toBeUndefined();
    for (const path of ["/auth/login", "/auth/refresh"]) expect(responses(path)["401"].description).toStartWith("INVALID_CREDENTIALS");
  });

  test("path parameters are declared, required, for each {name} in the path", () => {
    for (const { method, path, op } of operations) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const declared = (op.parameters ?? []).filter((p) => p.in === "path");
      expect(declared.map((p) => p.name).sort(), `${method} ${path}`).toEqual(names.sort());
      for (const p of declared) expect(p.required).toBe(true);
    }
  });

  test("bearerAuth is an HTTP bearer JWT scheme; routes that need a token require it, the listing accepts one", () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer", bearerFormat: "JWT" });
    const security = (method: string, path: string) => operations.find((o) => o.method === method && o.path === path)!.op.security;
    expect(security("GET", "/products/all")).toEqual([{}, { bearerAuth: [] }]);
    for (const [method, path] of [
      ["GET", "/cart"],
      ["DELETE", "/favorites/{product_id}"],
      ["POST", "/notifications/{id}/read"],
      ["GET", "/me"],
      ["POST", "/auth/logout"],
      ["PATCH", "/admin/products/{product_id}"],
      ["POST", "/checkout"],
      ["GET", "/orders"],
      ["GET", "/orders/{id}"],
      ["POST", "/orders/{id}/cancel"],
      ["GET", "/admin/deliveries"],
      ["GET", "/admin/deliveries/{id}"],
      ["POST", "/admin/deliveries/{id}/courier"],
      ["GET", "/admin/couriers"],
      ["GET", "/courier/deliveries"],
      ["POST", "/courier/deliveries/{id}/done"],
    ] as const) {
      expect(security(method, path)).toEqual([{ bearerAuth: [] }]);
    }
    for (const path of ["/auth/register", "/auth/login", "/auth/refresh"]) expect(security("POST", path)).toBeUndefined();
  });
});

describe("POST /checkout in the document", () => {
  const checkout = () => operations.find((o) => o.method === "POST" && o.path === "/checkout")!.op;

  test("declares the Idempotency-Key header as required", () => {
    const headers = (checkout().parameters ?? []).filter((p) => p.in === "header");
    expect(headers.map((p) => [p.name, p.required])).toEqual([["idempotency-key", true]]);
  });

  test("documents every answer of the orders contract, with Location on the 202 and Retry-After on the 409", () => {
    const responses = checkout().responses!;
    for (const status of ["201", "202", "400", "401", "402", "403", "409", "413", "415", "422", "429", "500", "502", "503", "504"]) expect(responses, status).toHaveProperty(status);
    expect(responses["202"].headers.Location).toBeDefined();
    expect(responses["409"].headers["Retry-After"]).toBeDefined();
    for (const status of ["201", "202", "402", "409"]) expect(responses[status].headers["Idempotent-Replayed"], status).toBeDefined();
  });

  test("the error envelope declares the optional details: order_id, products, product_ids, and a delivery's status", () => {
    const error = (doc.components.schemas.ErrorBody as any).properties.error;
    expect(Object.keys(error.properties)).toEqual(["code", "message", "order_id", "products", "product_ids", "status"]);
    expect(error.required).toEqual(["code", "message"]);
  });
});

describe("/docs", () => {
  test("answers an HTML page that loads its script from this server and names no other host", async () => {
    const res = await app.request(DOCS_PATH);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/html");
    const html = await res.text();
    expect(html).toContain(`<script src="${SCALAR_BUNDLE_PATH}"></script>`);
    expect(html).toContain(`"url": "${DOCUMENT_PATH}"`);
    const tags = html.match(/<(script|link|style)\b[^>]*>([\s\S]*?<\/\1>)?/gi) ?? [];
    expect(tags.length).toBeGreaterThanOrEqual(3);
    for (const tag of tags) expect(tag).not.toMatch(/https?:\/\/|\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
  });

  test("/docs/scalar.js is the installed Scalar bundle, as JavaScript, cached", async () => {
    const res = await app.request(SCALAR_BUNDLE_PATH);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(res.headers.get("cache-control")).toMatch(/max-age=\d+/);
    const js = await res.text();
    expect(js.length).toBeGreaterThan(1_000_000);
    expect(js).toContain("createApiReference");
  });
});

// Upstream answers shaped as the services answer.
const at = "2026-11-22T10:00:00.000Z";
const inboxItem = { id: 9, type: "stock.back_in_stock", title: "Back in stock", body: "Espresso beans are back.", payload: { product_id: 1 }, created_at: at, read_at: null };
const product = { product_id: 4, product_name: "Kettle", description: "Gooseneck", sku: "KET-4", price_cents: 3900, updated_at: at };
const tokens = { access_token: "eyJ.a.b", token_type: "Bearer", expires_in: 900, refresh_token: "rt_abc" };
const envelope = (code: string, message = code.toLowerCase(), details: Record<string, unknown> = {}) => ({ error: { code, message, ...details } });
const address = { name: "Ada Lovelace", line1: "12 St James's Square", city: "London", postal_code: "SW1Y 4JH", country: "GB" };
const checkoutBody = { shipping_address: address, delivery_date: "2026-12-01", card_token: "tok_visa" };
const lines = [{ product_id: 1, quantity: 2, price_cents: 2490 }];
const order = {
  order_id: 41,
  status: "confirmed",
  total_cents: 4980,
  items: lines,
  shipping_address: address,
  delivery_date: "2026-12-01",
  cancel_reason: null,
  created_at: at,
  updated_at: at,
  history: [{ step: "payment", outcome: "succeeded", at, detail: null }],
  delivery: null,
};
const shipped = { ...order, status: "shipped", delivery: { status: "activated", courier_name: "Courier One", updated_at: at } };
const delivered = { ...order, status: "delivered", delivery: { status: "done", courier_name: "Courier One", updated_at: at } };
const delivery = {
  order_id: 41,
  user_id: 7,
  status: "activated",
  shipping_address: address,
  delivery_date: "2026-12-01",
  courier: null,
  version: 2,
  created_at: at,
  updated_at: at,
  history: [
    { from: null, to: "created", at, by: "event order.created" },
    { from: "created", to: "activated", at, by: "event order.paid" },
  ],
};
const withCourier = { ...delivery, courier: { courier_id: 1, name: "Courier One" }, version: 3 };

const server = setupServer(
  ...happyHandlers,
  http.post(`${urls.cart}/users/:id/cart`, () => HttpResponse.json({ product_id: 4, quantity: 3 })),
  http.put(`${urls.cart}/users/:id/cart/:pid`, () => HttpResponse.json({ product_id: 4, quantity: 5 })),
  http.delete(`${urls.cart}/users/:id/cart/:pid`, () => new HttpResponse(null, { status: 204 })),
  http.post(`${urls.favorites}/users/:id/favorites`, () => HttpResponse.json({ product_id: 4 }, { status: 201 })),
  http.delete(`${urls.favorites}/users/:id/favorites/:pid`, () => new HttpResponse(null, { status: 204 })),
  http.get(`${urls.notifications}/users/:id/notifications`, () => HttpResponse.json([inboxItem])),
  http.post(`${urls.notifications}/users/:id/notifications/:nid/read`, () => HttpResponse.json({ ...inboxItem, read_at: at })),
  http.post(`${urls.users}/auth/register`, () => HttpResponse.json({ user_id: 7, email: "ada@example.com", name: "Ada" }, { status: 201 })),
  http.post(`${urls.users}/auth/login`, () => HttpResponse.json(tokens)),
  http.post(`${urls.users}/auth/refresh`, () => HttpResponse.json(tokens)),
  http.post(`${urls.users}/auth/logout`, () => new HttpResponse(null, { status: 204 })),
  http.get(`${urls.users}/users/:id`, () => HttpResponse.json({ user_id: 7, email: "user1@storefront.test", name: "User 1", role: "customer" })),
  http.put(`${urls.inventory}/products/:id/inventory`, () => HttpResponse.json({ product_id: 4, inventory: 9, on_hand: 12, reserved: 3 })),
  http.patch(`${urls.products}/products/:id`, () => HttpResponse.json(product)),
  http.post(`${urls.orders}/users/:id/orders`, () => HttpResponse.json({ order_id: 41, status: "confirmed", total_cents: 4980, items: lines }, { status: 201 })),
  http.get(`${urls.orders}/users/:id/orders`, () =>
    HttpResponse.json({ orders: [{ order_id: 41, status: "confirmed", total_cents: 4980, item_count: 2, created_at: at }], next_after: 41 }),
  ),
  http.get(`${urls.orders}/users/:id/orders/:oid`, () => HttpResponse.json(order)),
  http.post(`${urls.orders}/users/:id/orders/:oid/cancel`, () => HttpResponse.json({ ...order, status: "cancelled", cancel_reason: "customer" })),
  http.get(`${urls.delivery}/deliveries`, () => HttpResponse.json({ deliveries: [delivery], next_after: 41 })),
  http.get(`${urls.delivery}/deliveries/:id`, () => HttpResponse.json(delivery)),
  http.post(`${urls.delivery}/deliveries/:id/courier`, () => HttpResponse.json(withCourier)),
  http.get(`${urls.delivery}/couriers`, () => HttpResponse.json([{ courier_id: 1, name: "Courier One" }, { courier_id: 2, name: "Courier Two" }])),
  http.get(`${urls.delivery}/couriers/me/deliveries`, () => HttpResponse.json({ deliveries: [withCourier], next_after: null })),
  http.post(`${urls.delivery}/couriers/me/deliveries/:id/done`, () => HttpResponse.json({ ...withCourier, status: "done", version: 4 })),
);
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

type Case = {
  name: string;
  method: string;
  /** The documented path template. */
  template: string;
  path: string;
  status: number;
  init?: Parameters<typeof call>[2];
  upstream?: Parameters<typeof server.use>;
};
const body = (value: unknown) => JSON.stringify(value);
const customer = { user: 7 } as const;
const admin = { user: 1, role: "admin" } as const;
const courier = { user: 7, role: "courier" } as const;
const checkingOut = (key = "key-1") => ({ ...customer, method: "POST", body: body(checkoutBody), headers: { "idempotency-key": key } });
const ordersAnswers = (status: number, answer: object, headers: Record<string, string> = {}) => [
  http.post(`${urls.orders}/users/:id/orders`, () => HttpResponse.json(answer, { status, headers })),
];

const cases: Case[] = [
  { name: "the listing, personalised", method: "GET", template: "/products/all", path: "/products/all", status: 200, init: customer },
  { name: "the listing, a page too large", method: "GET", template: "/products/all", path: "/products/all?limit=101", status: 400 },
  {
    name: "the listing, products failing",
    method: "GET",
    template: "/products/all",
    path: "/products/all",
    status: 502,
    upstream: [http.get(`${urls.products}/products`, () => HttpResponse.error())],
  },
  { name: "the cart", method: "GET", template: "/cart", path: "/cart", status: 200, init: customer },
  { name: "the cart without a token", method: "GET", template: "/cart", path: "/cart", status: 401 },
  { name: "add to the cart", method: "POST", template: "/cart", path: "/cart", status: 200, init: { ...customer, method: "POST", body: body({ product_id: 4, quantity: 3 }) } },
  {
    name: "add to the cart past 999",
    method: "POST",
    template: "/cart",
    path: "/cart",
    status: 409,
    init: { ...customer, method: "POST", body: body({ product_id: 4, quantity: 999 }) },
    upstream: [http.post(`${urls.cart}/users/:id/cart`, () => HttpResponse.json(envelope("CONFLICT"), { status: 409 }))],
  },
  { name: "set a quantity", method: "PUT", template: "/cart/{product_id}", path: "/cart/4", status: 200, init: { ...customer, method: "PUT", body: body({ quantity: 5 }) } },
  { name: "set a quantity of 0", method: "PUT", template: "/cart/{product_id}", path: "/cart/4", status: 400, init: { ...customer, method: "PUT", body: body({ quantity: 0 }) } },
  { name: "remove a line", method: "DELETE", template: "/cart/{product_id}", path: "/cart/4", status: 204, init: { ...customer, method: "DELETE" } },
  {
    name: "remove a line, cart down",
    method: "DELETE",
    template: "/cart/{product_id}",
    path: "/cart/4",
    status: 502,
    init: { ...customer, method: "DELETE" },
    upstream: [http.delete(`${urls.cart}/users/:id/cart/:pid`, () => HttpResponse.error())],
  },
  { name: "the favorites", method: "GET", template: "/favorites", path: "/favorites", status: 200, init: customer },
  {
    name: "the favorites, favorites failing",
    method: "GET",
    template: "/favorites",
    path: "/favorites",
    status: 502,
    init: customer,
    upstream: [http.get(`${urls.favorites}/users/:id/favorites`, () => HttpResponse.text("oops", { status: 500 }))],
  },
  { name: "add a favorite", method: "POST", template: "/favorites", path: "/favorites", status: 201, init: { ...customer, method: "POST", body: body({ product_id: 4 }) } },
  {
    name: "add a favorite again",
    method: "POST",
    template: "/favorites",
    path: "/favorites",
    status: 200,
    init: { ...customer, method: "POST", body: body({ product_id: 4 }) },
    upstream: [http.post(`${urls.favorites}/users/:id/favorites`, () => HttpResponse.json({ product_id: 4 }))],
  },
  { name: "add a favorite with a note", method: "POST", template: "/favorites", path: "/favorites", status: 400, init: { ...customer, method: "POST", body: body({ product_id: 4, note: "x" }) } },
  { name: "remove a favorite", method: "DELETE", template: "/favorites/{product_id}", path: "/favorites/4", status: 204, init: { ...customer, method: "DELETE" } },
  { name: "remove a favorite without a token", method: "DELETE", template: "/favorites/{product_id}", path: "/favorites/4", status: 401, init: { method: "DELETE" } },
  { name: "the inbox", method: "GET", template: "/notifications", path: "/notifications?limit=5", status: 200, init: customer },
  { name: "the inbox, an unknown query", method: "GET", template: "/notifications", path: "/notifications?page=2", status: 400, init: customer },
  { name: "mark read", method: "POST", template: "/notifications/{id}/read", path: "/notifications/9/read", status: 200, init: { ...customer, method: "POST" } },
  {
    name: "mark read, not the caller's",
    method: "POST",
    template: "/notifications/{id}/read",
    path: "/notifications/9/read",
    status: 404,
    init: { ...customer, method: "POST" },
    upstream: [http.post(`${urls.notifications}/users/:id/notifications/:nid/read`, () => HttpResponse.json(envelope("NOT_FOUND"), { status: 404 }))],
  },
  {
    name: "register",
    method: "POST",
    template: "/auth/register",
    path: "/auth/register",
    status: 201,
    init: { method: "POST", body: body({ email: "ada@example.com", password: "long enough 1", name: "Ada" }) },
  },
  {
    name: "register a taken email",
    method: "POST",
    template: "/auth/register",
    path: "/auth/register",
    status: 409,
    init: { method: "POST", body: body({ email: "ada@example.com", password: "long enough 1", name: "Ada" }) },
    upstream: [http.post(`${urls.users}/auth/register`, () => HttpResponse.json(envelope("EMAIL_TAKEN"), { status: 409 }))],
  },
  { name: "log in", method: "POST", template: "/auth/login", path: "/auth/login", status: 200, init: { method: "POST", body: body({ email: "user1@storefront.test", password: "storefront-demo" }) } },
  {
    name: "log in with a wrong password",
    method: "POST",
    template: "/auth/login",
    path: "/auth/login",
    status: 401,
    init: { method: "POST", body: body({ email: "user1@storefront.test", password: "nope" }) },
    upstream: [http.post(`${urls.users}/auth/login`, () => HttpResponse.json(envelope("INVALID_CREDENTIALS"), { status: 401 }))],
  },
  { name: "refresh", method: "POST", template: "/auth/refresh", path: "/auth/refresh", status: 200, init: { method: "POST", body: body({ refresh_token: "rt_abc" }) } },
  { name: "refresh without a token", method: "POST", template: "/auth/refresh", path: "/auth/refresh", status: 400, init: { method: "POST", body: body({}) } },
  { name: "log out", method: "POST", template: "/auth/logout", path: "/auth/logout", status: 204, init: { ...customer, method: "POST" } },
  { name: "log out without a token", method: "POST", template: "/auth/logout", path: "/auth/logout", status: 401, init: { method: "POST" } },
  { name: "me", method: "GET", template: "/me", path: "/me", status: 200, init: customer },
  {
    name: "me, users hanging",
    method: "GET",
    template: "/me",
    path: "/me",
    status: 504,
    init: customer,
    upstream: [http.get(`${urls.users}/users/:id`, () => delay("infinite"))],
  },
  {
    name: "set stock",
    method: "PUT",
    template: "/admin/products/{product_id}/inventory",
    path: "/admin/products/4/inventory",
    status: 200,
    init: { ...admin, method: "PUT", body: body({ inventory: 12 }) },
  },
  {
    name: "set stock as a customer",
    method: "PUT",
    template: "/admin/products/{product_id}/inventory",
    path: "/admin/products/4/inventory",
    status: 403,
    init: { ...customer, method: "PUT", body: body({ inventory: 12 }) },
  },
  {
    name: "edit a product",
    method: "PATCH",
    template: "/admin/products/{product_id}",
    path: "/admin/products/4",
    status: 200,
    init: { ...admin, method: "PATCH", body: body({ price_cents: 3900 }) },
  },
  {
    name: "edit an unknown product",
    method: "PATCH",
    template: "/admin/products/{product_id}",
    path: "/admin/products/4",
    status: 404,
    init: { ...admin, method: "PATCH", body: body({ price_cents: 3900 }) },
    upstream: [http.patch(`${urls.products}/products/:id`, () => HttpResponse.json(envelope("NOT_FOUND"), { status: 404 }))],
  },
  {
    name: "read a product's stock",
    method: "GET",
    template: "/admin/products/{product_id}/inventory",
    path: "/admin/products/4/inventory",
    status: 200,
    init: admin,
    upstream: [http.get(`${urls.inventory}/products/:id/inventory`, () => HttpResponse.json({ product_id: 4, inventory: 7, on_hand: 9, reserved: 2 }))],
  },
  {
    name: "read an unknown product's stock",
    method: "GET",
    template: "/admin/products/{product_id}/inventory",
    path: "/admin/products/4/inventory",
    status: 404,
    init: admin,
    upstream: [http.get(`${urls.inventory}/products/:id/inventory`, () => HttpResponse.json(envelope("NOT_FOUND"), { status: 404 }))],
  },
  {
    name: "set stock below what is reserved",
    method: "PUT",
    template: "/admin/products/{product_id}/inventory",
    path: "/admin/products/4/inventory",
    status: 409,
    init: { ...admin, method: "PUT", body: body({ inventory: 1 }) },
    upstream: [http.put(`${urls.inventory}/products/:id/inventory`, () => HttpResponse.json(envelope("CONFLICT"), { status: 409 }))],
  },
  { name: "check out", method: "POST", template: "/checkout", path: "/checkout", status: 201, init: checkingOut() },
  {
    name: "check out, still settling",
    method: "POST",
    template: "/checkout",
    path: "/checkout",
    status: 202,
    init: checkingOut(),
    upstream: ordersAnswers(202, { order_id: 41, status: "pending" }, { location: "/orders/41" }),
  },
  { name: "check out without an Idempotency-Key", method: "POST", template: "/checkout", path: "/checkout", status: 400, init: { ...checkingOut(), headers: {} } },
  { name: "check out an empty cart", method: "POST", template: "/checkout", path: "/checkout", status: 400, init: checkingOut(), upstream: ordersAnswers(400, envelope("CART_EMPTY")) },
  {
    name: "check out, the card declined",
    method: "POST",
    template: "/checkout",
    path: "/checkout",
    status: 402,
    init: checkingOut(),
    upstream: ordersAnswers(402, envelope("PAYMENT_DECLINED", "declined", { order_id: 41 })),
  },
  {
    name: "check out, out of stock",
    method: "POST",
    template: "/checkout",
    path: "/checkout",
    status: 409,
    init: checkingOut(),
    upstream: ordersAnswers(409, envelope("OUT_OF_STOCK", "short", { order_id: 41, products: [{ product_id: 2, requested: 3, available: 1 }] })),
  },
  {
    name: "check out, a product no longer sold",
    method: "POST",
    template: "/checkout",
    path: "/checkout",
    status: 409,
    init: checkingOut(),
    upstream: ordersAnswers(409, envelope("CONFLICT", "no longer sold", { product_ids: [9] })),
  },
  {
    name: "check out, the key in use",
    method: "POST",
    template: "/checkout",
    path: "/checkout",
    status: 409,
    init: checkingOut(),
    upstream: ordersAnswers(409, envelope("IDEMPOTENCY_IN_PROGRESS"), { "retry-after": "1" }),
  },
  {
    name: "check out, the key reused",
    method: "POST",
    template: "/checkout",
    path: "/checkout",
    status: 422,
    init: checkingOut(),
    upstream: ordersAnswers(422, envelope("IDEMPOTENCY_KEY_REUSED")),
  },
  {
    name: "check out, orders' dependencies down",
    method: "POST",
    template: "/checkout",
    path: "/checkout",
    status: 503,
    init: checkingOut(),
    upstream: ordersAnswers(503, envelope("UPSTREAM_UNAVAILABLE")),
  },
  { name: "the orders", method: "GET", template: "/orders", path: "/orders?limit=1", status: 200, init: customer },
  { name: "the orders, a page too large", method: "GET", template: "/orders", path: "/orders?limit=101", status: 400, init: customer },
  { name: "an order", method: "GET", template: "/orders/{id}", path: "/orders/41", status: 200, init: customer },
  {
    name: "an order, not the caller's",
    method: "GET",
    template: "/orders/{id}",
    path: "/orders/41",
    status: 404,
    init: customer,
    upstream: [http.get(`${urls.orders}/users/:id/orders/:oid`, () => HttpResponse.json(envelope("NOT_FOUND"), { status: 404 }))],
  },
  { name: "cancel an order", method: "POST", template: "/orders/{id}/cancel", path: "/orders/41/cancel", status: 200, init: { ...customer, method: "POST" } },
  {
    name: "cancel an order, still being cancelled",
    method: "POST",
    template: "/orders/{id}/cancel",
    path: "/orders/41/cancel",
    status: 202,
    init: { ...customer, method: "POST" },
    upstream: [http.post(`${urls.orders}/users/:id/orders/:oid/cancel`, () => HttpResponse.json({ ...order, status: "cancelling" }, { status: 202 }))],
  },
  {
    name: "cancel a shipped order",
    method: "POST",
    template: "/orders/{id}/cancel",
    path: "/orders/41/cancel",
    status: 409,
    init: { ...customer, method: "POST" },
    upstream: [http.post(`${urls.orders}/users/:id/orders/:oid/cancel`, () => HttpResponse.json(envelope("NOT_CANCELLABLE"), { status: 409 }))],
  },
  {
    name: "an order, shipped, with its delivery",
    method: "GET",
    template: "/orders/{id}",
    path: "/orders/41",
    status: 200,
    init: customer,
    upstream: [http.get(`${urls.orders}/users/:id/orders/:oid`, () => HttpResponse.json(shipped))],
  },
  {
    name: "an order, delivered",
    method: "GET",
    template: "/orders/{id}",
    path: "/orders/41",
    status: 200,
    init: customer,
    upstream: [http.get(`${urls.orders}/users/:id/orders/:oid`, () => HttpResponse.json(delivered))],
  },
  { name: "the deliveries", method: "GET", template: "/admin/deliveries", path: "/admin/deliveries?status=activated&limit=1", status: 200, init: admin },
  { name: "the deliveries, an unknown status", method: "GET", template: "/admin/deliveries", path: "/admin/deliveries?status=shipped", status: 400, init: admin },
  { name: "the deliveries as a courier", method: "GET", template: "/admin/deliveries", path: "/admin/deliveries", status: 403, init: courier },
  { name: "a delivery", method: "GET", template: "/admin/deliveries/{id}", path: "/admin/deliveries/41", status: 200, init: admin },
  {
    name: "a delivery that does not exist",
    method: "GET",
    template: "/admin/deliveries/{id}",
    path: "/admin/deliveries/41",
    status: 404,
    init: admin,
    upstream: [http.get(`${urls.delivery}/deliveries/:id`, () => HttpResponse.json(envelope("NOT_FOUND"), { status: 404 }))],
  },
  {
    name: "assign a courier",
    method: "POST",
    template: "/admin/deliveries/{id}/courier",
    path: "/admin/deliveries/41/courier",
    status: 200,
    init: { ...admin, method: "POST", body: body({ courier_id: 1 }) },
  },
  {
    name: "assign a courier to a delivery that has one",
    method: "POST",
    template: "/admin/deliveries/{id}/courier",
    path: "/admin/deliveries/41/courier",
    status: 409,
    init: { ...admin, method: "POST", body: body({ courier_id: 2 }) },
    upstream: [http.post(`${urls.delivery}/deliveries/:id/courier`, () => HttpResponse.json(envelope("INVALID_TRANSITION", "taken", { status: "activated" }), { status: 409 }))],
  },
  {
    name: "assign an unknown courier",
    method: "POST",
    template: "/admin/deliveries/{id}/courier",
    path: "/admin/deliveries/41/courier",
    status: 404,
    init: { ...admin, method: "POST", body: body({ courier_id: 9 }) },
    upstream: [http.post(`${urls.delivery}/deliveries/:id/courier`, () => HttpResponse.json(envelope("NOT_FOUND", "no courier 9"), { status: 404 }))],
  },
  {
    name: "assign a courier given as text",
    method: "POST",
    template: "/admin/deliveries/{id}/courier",
    path: "/admin/deliveries/41/courier",
    status: 400,
    init: { ...admin, method: "POST", body: body({ courier_id: "1" }) },
  },
  {
    name: "the status page, orders' /metrics hanging",
    method: "GET",
    template: "/admin/status",
    path: "/admin/status",
    status: 200,
    init: admin,
    upstream: [
      ...["products", "inventory", "cart", "delivery"].map((name) => http.get(`${urls[name as keyof typeof urls]}/metrics`, () => new HttpResponse("outbox_pending_events 2\n"))),
      http.get(`${urls.orders}/metrics`, () => HttpResponse.error()),
    ],
  },
  { name: "the status page as a customer", method: "GET", template: "/admin/status", path: "/admin/status", status: 403, init: customer },
  {
    name: "inventory's demo knobs",
    method: "PUT",
    template: "/admin/chaos/inventory",
    path: "/admin/chaos/inventory",
    status: 200,
    init: { ...admin, method: "PUT", body: body({ delay_ms: { min: 0, max: 500 }, fail_rate: 0.5 }) },
    upstream: [http.put(`${urls.inventory}/admin/chaos`, async ({ request }) => HttpResponse.json(await request.json()))],
  },
  {
    name: "inventory's demo knobs, switches off",
    method: "PUT",
    template: "/admin/chaos/inventory",
    path: "/admin/chaos/inventory",
    status: 404,
    init: { ...admin, method: "PUT", body: body({ delay_ms: null, fail_rate: 0 }) },
    upstream: [http.put(`${urls.inventory}/admin/chaos`, () => HttpResponse.json(envelope("NOT_FOUND"), { status: 404 }))],
  },
  {
    name: "inventory's demo knobs, a rate above 1",
    method: "PUT",
    template: "/admin/chaos/inventory",
    path: "/admin/chaos/inventory",
    status: 400,
    init: { ...admin, method: "PUT", body: body({ delay_ms: null, fail_rate: 2 }) },
  },
  { name: "the couriers", method: "GET", template: "/admin/couriers", path: "/admin/couriers", status: 200, init: admin },
  { name: "the couriers as a customer", method: "GET", template: "/admin/couriers", path: "/admin/couriers", status: 403, init: customer },
  { name: "a courier's deliveries", method: "GET", template: "/courier/deliveries", path: "/courier/deliveries?status=activated", status: 200, init: courier },
  { name: "a courier's deliveries without a token", method: "GET", template: "/courier/deliveries", path: "/courier/deliveries", status: 401 },
  { name: "a courier's deliveries as an admin", method: "GET", template: "/courier/deliveries", path: "/courier/deliveries", status: 403, init: admin },
  { name: "mark a delivery done", method: "POST", template: "/courier/deliveries/{id}/done", path: "/courier/deliveries/41/done", status: 200, init: { ...courier, method: "POST" } },
  {
    name: "mark a delivery done twice",
    method: "POST",
    template: "/courier/deliveries/{id}/done",
    path: "/courier/deliveries/41/done",
    status: 409,
    init: { ...courier, method: "POST" },
    upstream: [http.post(`${urls.delivery}/couriers/me/deliveries/:id/done`, () => HttpResponse.json(envelope("INVALID_TRANSITION", "done", { status: "done" }), { status: 409 }))],
  },
  {
    name: "mark another courier's delivery done",
    method: "POST",
    template: "/courier/deliveries/{id}/done",
    path: "/courier/deliveries/41/done",
    status: 404,
    init: { ...courier, method: "POST" },
    upstream: [http.post(`${urls.delivery}/couriers/me/deliveries/:id/done`, () => HttpResponse.json(envelope("NOT_FOUND"), { status: 404 }))],
  },
  {
    name: "mark a delivery done, delivery hanging",
    method: "POST",
    template: "/courier/deliveries/{id}/done",
    path: "/courier/deliveries/41/done",
    status: 504,
    init: { ...courier, method: "POST" },
    upstream: [http.post(`${urls.delivery}/couriers/me/deliveries/:id/done`, () => delay("infinite"))],
  },
];

describe("responseSchema: real answers match the document", () => {
  for (const c of cases) {
    test(`${c.name}: ${c.method} ${c.path} answers ${c.status} as documented`, async () => {
      if (c.upstream) server.use(...c.upstream);
      const fresh = testApp(); // its own breakers
      const res = await call(fresh, c.path, { method: c.method, ...c.init });
      expect(res.status).toBe(c.status);
      expect(responseProblem(c.method, c.template, res.status, res.body)).toBeUndefined();
      // The concrete path finds the same operation.
      expect(responseProblem(c.method, c.path, res.status, res.body)).toBeUndefined();
    });
  }

  test("every documented operation has a happy case and an error case above", () => {
    for (const { method, path } of operations) {
      const mine = cases.filter((c) => c.method === method && c.template === path);
      expect(mine.some((c) => c.status < 300), `${method} ${path}`).toBe(true);
      expect(mine.some((c) => c.status >= 400), `${method} ${path}`).toBe(true);
    }
  });

  test("a service token on a user's, an admin's or a courier's route: 403 as documented", async () => {
    for (const [method, path] of [
      ["GET", "/favorites"],
      ["GET", "/orders"],
      ["POST", "/checkout"],
      ["GET", "/admin/deliveries"],
      ["GET", "/courier/deliveries"],
    ] as const) {
      const res = await app.request(path, { method, headers: await issuer.auth("notifications", "service") });
      expect(res.status).toBe(403);
      expect(responseProblem(method, path, 403, await res.json())).toBeUndefined();
    }
  });

  test("a body too large (413), not JSON (415), rate limited (429), keys unavailable (503): as documented", async () => {
    const big = await call(app, "/cart", { ...customer, method: "POST", body: body({ product_id: 4, pad: "x".repeat(70_000) }) });
    expect(big.status).toBe(413);
    expect(responseProblem("POST", "/cart", 413, big.body)).toBeUndefined();

    const text = await app.request("/cart", {
      method: "POST",
      body: body({ product_id: 4 }),
      headers: { ...(await issuer.auth(7)), "content-type": "text/plain" },
    });
    expect(text.status).toBe(415);
    expect(responseProblem("POST", "/cart", 415, await text.json())).toBeUndefined();

    const refuse = async () => {
      throw new AppError(429, "RATE_LIMITED", "slow down", { headers: { "retry-after": "3" } });
    };
    const limited = createApp({ urls, verifier: issuer.verifier, deadlines: DEADLINES, rateLimits: { general: refuse, auth: refuse } });
    const tooMany = await call(limited, "/auth/login", { method: "POST", body: body({ email: "a@b.co", password: "x" }) });
    expect(tooMany.status).toBe(429);
    expect(responseProblem("POST", "/auth/login", 429, tooMany.body)).toBeUndefined();

    const keysDown = createApp({
      urls,
      verifier: {
        verify: async () => {
          throw new KeysUnavailableError("down");
        },
      },
    });
    const unavailable = await call(keysDown, "/products/all", { user: 7 });
    expect(unavailable.status).toBe(503);
    expect(responseProblem("GET", "/products/all", 503, unavailable.body)).toBeUndefined();
  });

  test("a body that is not what the document says is named, with the field", () => {
    expect(responseProblem("GET", "/cart", 200, [{ product_id: 1, quantity: 2 }])).toBeUndefined();
    expect(responseProblem("GET", "/cart", 200, [{ product_id: 1, quantity: 2, note: "x" }])).toContain("note");
    expect(responseProblem("GET", "/cart", 200, [{ product_id: 1 }])).toContain("quantity");
    expect(responseProblem("POST", "/auth/login", 200, { ...tokens, token_type: "bearer" })).toContain("token_type");
    expect(responseProblem("GET", "/me", 500, { error: { code: "INTERNAL" } })).toContain("message");
    // An order's delivery is a required key (null until delivery reports), in delivery's own statuses.
    const { delivery: _, ...withoutDelivery } = order;
    expect(responseProblem("GET", "/orders/41", 200, withoutDelivery)).toContain("delivery");
    expect(responseProblem("GET", "/orders/41", 200, { ...shipped, delivery: { ...shipped.delivery, status: "assigned" } })).toContain("at delivery");
    expect(responseProblem("GET", "/orders/41", 200, { ...order, status: "returned" })).toContain("status");
    // INVALID_TRANSITION's status is a delivery status; a delivery's history steps are too.
    expect(responseProblem("POST", "/courier/deliveries/41/done", 409, envelope("INVALID_TRANSITION", "x", { status: "done" }))).toBeUndefined();
    expect(responseProblem("POST", "/courier/deliveries/41/done", 409, envelope("INVALID_TRANSITION", "x", { status: "shipped" }))).toContain("status");
    expect(responseProblem("GET", "/admin/deliveries/41", 200, { ...delivery, history: [{ from: null, to: "created", at, by: 1 }] })).toContain("by");
    expect(responseProblem("GET", "/admin/deliveries/41", 200, { ...delivery, courier: { courier_id: 1 } })).toContain("at courier");
    expect(responseProblem("GET", "/admin/couriers", 200, [{ courier_id: 1, name: "Courier One", user_id: 7 }])).toContain("user_id");
  });

  test("undocumented operations and statuses have no schema; a 204 has NO_CONTENT", () => {
    expect(responseSchema("GET", "/cart", 418)).toBeUndefined();
    expect(responseSchema("PATCH", "/cart", 200)).toBeUndefined();
    expect(responseSchema("GET", "/health", 200)).toBeUndefined();
    expect(responseProblem("GET", "/nowhere", 200, {})).toBe("GET /nowhere is not documented to answer 200");
    expect(responseSchema("DELETE", "/cart/{product_id}", 204)).toBe(NO_CONTENT);
    expect(responseSchema("delete", "/cart/:product_id", 204)).toBe(NO_CONTENT);
    expect(responseProblem("DELETE", "/cart/4", 204, null)).toBeUndefined();
    expect(responseProblem("DELETE", "/cart/4", 204, { product_id: 4 })).toBeDefined();
  });
});
