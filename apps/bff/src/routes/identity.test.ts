import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp } from "../app.ts";
import { call, DEADLINES, happyHandlers, issuer, testApp, urls } from "../test-upstreams.ts";

// What reached the fake services: method, host, path, body and the Authorization header passed on. Noted
// as each request starts, so every request counts, whichever handler answers it.
type Seen = { method: string; host: string; path: string; body: unknown; authorization: string | null };
let requests: Promise<Seen>[] = [];
const note = async (request: Request): Promise<Seen> => {
  const url = new URL(request.url);
  const text = await request.clone().text();
  return {
    method: request.method,
    host: url.hostname.replace(".test", ""),
    path: url.pathname,
    body: text ? JSON.parse(text) : null,
    authorization: request.headers.get("authorization"),
  };
};
const received = () => Promise.all(requests);

const tokens = { access_token: "eyJ.access.token", token_type: "Bearer", expires_in: 900, refresh_token: "rt_next" };
const product = { product_id: 4, product_name: "Kettle", description: "Gooseneck", sku: "KET-4", price_cents: 3900, updated_at: "2026-11-22T10:00:00.000Z" };

const server = setupServer(
  ...happyHandlers,
  http.post(`${urls.users}/auth/register`, async ({ request }) => {
    const { email, name } = (await request.clone().json()) as { email: string; name: string };
    return HttpResponse.json({ user_id: 7, email, name }, { status: 201 });
  }),
  http.post(`${urls.users}/auth/login`, () => HttpResponse.json(tokens)),
  http.post(`${urls.users}/auth/refresh`, () => HttpResponse.json(tokens)),
  http.post(`${urls.users}/auth/logout`, () => new HttpResponse(null, { status: 204 })),
  http.get(`${urls.users}/users/:id`, ({ params }) =>
    HttpResponse.json({ user_id: Number(params.id), email: `user${params.id}@storefront.test`, name: `User ${params.id}`, role: "customer" }),
  ),
  // Inventory sets the on-hand count and answers what is available beside it (2 units held for orders here).
  http.put(`${urls.inventory}/products/:id/inventory`, async ({ request, params }) => {
    const { inventory } = (await request.clone().json()) as { inventory: number };
    return HttpResponse.json({ product_id: Number(params.id), inventory: inventory - 2, on_hand: inventory, reserved: 2 });
  }),
  http.patch(`${urls.products}/products/:id`, () => HttpResponse.json(product)),
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

let app: ReturnType<typeof testApp>;
beforeEach(() => {
  app = testApp();
});

const post = (body: unknown, headers: Record<string, string> = {}) => ({ method: "POST", body: JSON.stringify(body), headers });
const reached = async (host: string) => (await received()).filter((r) => r.host === host);
const registration = { email: "ada@example.com", password: "correct horse battery", name: "Ada" };

describe("register, log in and refresh are forwarded to users", () => {
  test("register: the validated body (email trimmed and lowercased, name trimmed) goes to users; its 201 comes back as it is", async () => {
    const { status, body } = await call(app, "/auth/register", post({ ...registration, email: "  Ada@Example.COM ", name: " Ada " }));
    expect(status).toBe(201);
    expect(body).toEqual({ user_id: 7, email: "ada@example.com", name: "Ada" });
    expect(await received()).toEqual([
      { method: "POST", host: "users", path: "/auth/register", body: { email: "ada@example.com", password: "correct horse battery", name: "Ada" }, authorization: null },
    ]);
  });

  test("register: users' 409 EMAIL_TAKEN comes back as it is", async () => {
    const taken = { error: { code: "EMAIL_TAKEN", message: "an account with this email exists" } };
    server.use(http.post(`${urls.users}/auth/register`, () => HttpResponse.json(taken, { status: 409 })));
    const { status, body } = await call(app, "/auth/register", post(registration));
    expect(status).toBe(409);
    expect(body).toEqual(taken);
  });

  test("login: the body goes to users and the token pair comes back as it is", async () => {
    const { status, body, headers } = await call(app, "/auth/login", post({ email: "USER1@storefront.test", password: "storefront-demo" }));
    expect(status).toBe(200);
    expect(body).toEqual(tokens);
    expect(headers.get("cache-control")).toBe("no-store");
    expect(await received()).toEqual([
      { method: "POST", host: "users", path: "/auth/login", body: { email: "user1@storefront.test", password: "storefront-demo" }, authorization: null },
    ]);
  });

  test("login: users' 401 INVALID_CREDENTIALS comes back as it is, without a WWW-Authenticate challenge", async () => {
    const refused = { error: { code: "INVALID_CREDENTIALS", message: "wrong email or password" } };
    server.use(http.post(`${urls.users}/auth/login`, () => HttpResponse.json(refused, { status: 401 })));
    const { status, body, headers } = await call(app, "/auth/login", post({ email: "user1@storefront.test", password: "guess" }));
    expect(status).toBe(401);
    expect(body).toEqual(refused);
    expect(headers.get("www-authenticate")).toBeNull();
  });

  test("login: a short password is forwarded (it is wrong, not malformed)", async () => {
    expect((await call(app, "/auth/login", post({ email: "user1@storefront.test", password: "x" }))).status).toBe(200);
    expect(await reached("users")).toHaveLength(1);
  });

  test("refresh: the refresh token goes to users and the next pair comes back; users' 401 as it is", async () => {
    const ok = await call(app, "/auth/refresh", post({ refresh_token: "rt_current" }));
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual(tokens);
    expect(ok.headers.get("cache-control")).toBe("no-store");
    expect(await received()).toEqual([{ method: "POST", host: "users", path: "/auth/refresh", body: { refresh_token: "rt_current" }, authorization: null }]);

    const refused = { error: { code: "INVALID_CREDENTIALS", message: "the refresh token is not valid; log in again" } };
    server.use(http.post(`${urls.users}/auth/refresh`, () => HttpResponse.json(refused, { status: 401 })));
    const again = await call(app, "/auth/refresh", post({ refresh_token: "rt_current" }));
    expect(again.status).toBe(401);
    expect(again.body).toEqual(refused);
  });

  test.each([
    ["register, a malformed email", "/auth/register", { ...registration, email: "ada.example.com" }],
    ["register, an email over 254 characters", "/auth/register", { ...registration, email: `${"a".repeat(250)}@example.com` }],
    ["register, a password under 10 characters", "/auth/register", { ...registration, password: "short" }],
    ["register, an extra field", "/auth/register", { ...registration, role: "admin" }],
    ["register, no name", "/auth/register", { email: registration.email, password: registration.password }],
    ["login, a malformed email", "/auth/login", { email: "user1", password: "storefront-demo" }],
    ["login, an extra field", "/auth/login", { email: "user1@storefront.test", password: "storefront-demo", remember: true }],
    ["login, an empty password", "/auth/login", { email: "user1@storefront.test", password: "" }],
    ["refresh, an extra field", "/auth/refresh", { refresh_token: "rt_current", user_id: 1 }],
    ["refresh, no refresh token", "/auth/refresh", {}],
  ] as const)("%s: 400 BAD_REQUEST that reaches nothing", async (_, path, body) => {
    const res = await call(app, path, post(body));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("BAD_REQUEST");
    expect(res.body.error.message).toStartWith("invalid json: ");
    expect(await received()).toEqual([]);
  });

  test("malformed JSON: 400 that reaches nothing", async () => {
    const res = await call(app, "/auth/login", { method: "POST", body: "{nope" });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("BAD_REQUEST");
    expect(await received()).toEqual([]);
  });
});

describe("log out and /me act for the token's user", () => {
  test("logout without a token: 401 with a Bearer challenge, nothing forwarded", async () => {
    const { status, body, headers } = await call(app, "/auth/logout", { method: "POST" });
    expect(status).toBe(401);
    expect(body.error.code).toBe("UNAUTHENTICATED");
    expect(headers.get("www-authenticate")).toBe("Bearer");
    expect(await received()).toEqual([]);
  });

  test("logout with a token: forwarded to users with that token; 204", async () => {
    const auth = await issuer.auth(7);
    const { status, body } = await call(app, "/auth/logout", { method: "POST", headers: auth });
    expect(status).toBe(204);
    expect(body).toBeNull();
    expect(await received()).toEqual([{ method: "POST", host: "users", path: "/auth/logout", body: null, authorization: auth.authorization }]);
  });

  test("/me reads /users/<sub> with the caller's token", async () => {
    const auth = await issuer.auth(42);
    const { status, body } = await call(app, "/me", { headers: auth });
    expect(status).toBe(200);
    expect(body).toEqual({ user_id: 42, email: "user42@storefront.test", name: "User 42", role: "customer" });
    expect(await received()).toEqual([{ method: "GET", host: "users", path: "/users/42", body: null, authorization: auth.authorization }]);
  });

  test("/me without a token: 401, nothing forwarded; users' 404 comes back as it is", async () => {
    expect((await call(app, "/me")).status).toBe(401);
    expect(await received()).toEqual([]);
    server.use(http.get(`${urls.users}/users/:id`, () => HttpResponse.json({ error: { code: "NOT_FOUND", message: "no user 42" } }, { status: 404 })));
    const gone = await call(app, "/me", { user: 42 });
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe("NOT_FOUND");
  });
});

describe("a token from another issuer", () => {
  const looksAtTheToken: [string, string, unknown?][] = [
    ["GET", "/products/all"],
    ["GET", "/cart"],
    ["POST", "/cart", { product_id: 1 }],
    ["PUT", "/cart/1", { quantity: 2 }],
    ["DELETE", "/cart/1"],
    ["GET", "/favorites"],
    ["POST", "/favorites", { product_id: 1 }],
    ["DELETE", "/favorites/1"],
    ["GET", "/notifications"],
    ["POST", "/notifications/1/read"],
    ["POST", "/auth/logout"],
    ["GET", "/me"],
    ["POST", "/checkout", { shipping_address: { name: "A", line1: "1 Road", city: "Town", postal_code: "1000", country: "BE" }, card_token: "tok" }],
    ["GET", "/orders"],
    ["GET", "/orders/1"],
    ["POST", "/orders/1/cancel"],
    ["PUT", "/admin/products/1/inventory", { inventory: 3 }],
    ["PATCH", "/admin/products/1", { price_cents: 100 }],
    ["GET", "/admin/deliveries"],
    ["GET", "/admin/deliveries/1"],
    ["POST", "/admin/deliveries/1/courier", { courier_id: 1 }],
    ["GET", "/admin/couriers"],
    ["GET", "/courier/deliveries"],
    ["POST", "/courier/deliveries/1/done"],
  ];

  test("is a 401 with error=invalid_token on every route that looks at the token, and reaches nothing", async () => {
    const stranger = await createTestIssuer();
    for (const role of ["customer", "admin", "courier"] as const) {
      const auth = await stranger.auth(1, role);
      for (const [method, path, body] of looksAtTheToken) {
        const res = await call(app, path, { method, headers: auth, body: body === undefined ? undefined : JSON.stringify(body) });
        expect(res.status, `${role} ${method} ${path}`).toBe(401);
        expect(res.body.error.code).toBe("UNAUTHENTICATED");
        expect(res.headers.get("www-authenticate")).toStartWith('Bearer error="invalid_token"');
      }
    }
    expect(await received()).toEqual([]);
  });

  test("is not looked at by register, login and refresh (a client may still hold an expired one), nor passed on", async () => {
    const auth = await (await createTestIssuer()).auth(1);
    for (const [path, body] of [
      ["/auth/register", registration],
      ["/auth/login", { email: "user1@storefront.test", password: "storefront-demo" }],
      ["/auth/refresh", { refresh_token: "rt_current" }],
    ] as const) {
      const res = await call(app, path, post(body, auth));
      expect(res.status, path).toBeLessThan(300);
    }
    const seen = await received();
    expect(seen.map((r) => r.path)).toEqual(["/auth/register", "/auth/login", "/auth/refresh"]);
    for (const r of seen) expect(r.authorization).toBeNull();
  });
});

describe("admin routes", () => {
  const stock = { method: "PUT", body: JSON.stringify({ inventory: 12 }) };
  const patch = { method: "PATCH", body: JSON.stringify({ price_cents: 3900 }) };

  test("a customer: 403 FORBIDDEN, even with a bad body, and nothing forwarded", async () => {
    for (const [path, init] of [
      ["/admin/products/4/inventory", stock],
      ["/admin/products/4", patch],
      ["/admin/products/4", { method: "PATCH", body: "{nope" }],
      ["/admin/products/abc/inventory", { method: "PUT", body: JSON.stringify({ inventory: -1 }) }],
    ] as const) {
      const { status, body } = await call(app, path, { ...init, user: 7 });
      expect(status, `${init.method} ${path}`).toBe(403);
      expect(body.error.code).toBe("FORBIDDEN");
    }
    expect(await received()).toEqual([]);
  });

  test("no token: 401 with a Bearer challenge, nothing forwarded", async () => {
    for (const [path, init] of [
      ["/admin/products/4/inventory", stock],
      ["/admin/products/4", patch],
    ] as const) {
      const { status, headers } = await call(app, path, init);
      expect(status).toBe(401);
      expect(headers.get("www-authenticate")).toBe("Bearer");
    }
    expect(await received()).toEqual([]);
  });

  test("an admin: PUT inventory is forwarded to inventory with the admin's token, and its answer comes back", async () => {
    const auth = await issuer.auth(1, "admin");
    const { status, body } = await call(app, "/admin/products/4/inventory", { ...stock, headers: auth });
    expect(status).toBe(200);
    expect(body).toEqual({ product_id: 4, inventory: 10, on_hand: 12, reserved: 2 });
    expect(await received()).toEqual([{ method: "PUT", host: "inventory", path: "/products/4/inventory", body: { inventory: 12 }, authorization: auth.authorization }]);
  });

  test("an admin: PATCH is forwarded to products with the admin's token, and its answer comes back", async () => {
    const auth = await issuer.auth(1, "admin");
    const { status, body } = await call(app, "/admin/products/4", { ...patch, headers: auth });
    expect(status).toBe(200);
    expect(body).toEqual(product);
    expect(await received()).toEqual([{ method: "PATCH", host: "products", path: "/products/4", body: { price_cents: 3900 }, authorization: auth.authorization }]);
  });

  test("an admin with a bad body: 400 that reaches nothing", async () => {
    for (const [path, init] of [
      ["/admin/products/4", { method: "PATCH", body: JSON.stringify({}) }],
      ["/admin/products/4", { method: "PATCH", body: JSON.stringify({ price_cents: -1 }) }],
      ["/admin/products/4", { method: "PATCH", body: JSON.stringify({ sku: "X" }) }],
      ["/admin/products/4/inventory", { method: "PUT", body: JSON.stringify({ inventory: 1.5 }) }],
      ["/admin/products/0/inventory", stock],
    ] as const) {
      const { status, body } = await call(app, path, { ...init, user: 1, role: "admin" });
      expect(status, `${init.body} ${path}`).toBe(400);
      expect(body.error.code).toBe("BAD_REQUEST");
    }
    expect(await received()).toEqual([]);
  });

  describe("with a products cache", () => {
    let cached: ReturnType<typeof createApp>;
    beforeEach(() => {
      cached = createApp({ urls, verifier: issuer.verifier, deadlines: DEADLINES, productsCache: { ttlMs: 60_000, swrMs: 60_000 } });
    });
    const listingsAskedProducts = async () => (await reached("products")).filter((r) => r.method === "GET").length;

    test("after a successful PATCH the next listing asks products again", async () => {
      await call(cached, "/products/all");
      await call(cached, "/products/all");
      expect(await listingsAskedProducts()).toBe(1); // fresh: served from the cache
      expect((await call(cached, "/admin/products/4", { ...patch, user: 1, role: "admin" })).status).toBe(200);
      expect((await call(cached, "/products/all")).status).toBe(200);
      expect(await listingsAskedProducts()).toBe(2);
    });

    test("a PATCH that products refuses leaves the cache alone", async () => {
      server.use(http.patch(`${urls.products}/products/:id`, () => HttpResponse.json({ error: { code: "NOT_FOUND", message: "no product 4" } }, { status: 404 })));
      await call(cached, "/products/all");
      expect((await call(cached, "/admin/products/4", { ...patch, user: 1, role: "admin" })).status).toBe(404);
      await call(cached, "/products/all");
      expect(await listingsAskedProducts()).toBe(1);
    });
  });
});
