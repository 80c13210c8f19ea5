import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { DEFAULT_BODY_LIMIT_BYTES } from "@storefront/shared/service-app";
import { captureLogs } from "@storefront/shared/testing/captured-logs";
import { createApp } from "../app.ts";
import { createRateLimits, type RateLimits } from "../middleware/rate-limit.ts";
import { DOCUMENT_PATH } from "./docs.ts";
import { DEADLINES, happyHandlers, issuer, NO_CACHE, testApp, urls } from "../test-upstreams.ts";

// Counts every request that reaches a fake service: for the 413s, that none does is the behaviour.
let forwarded = 0;
const server = setupServer(
  ...happyHandlers,
  http.post(`${urls.cart}/users/:id/cart`, () => HttpResponse.json({ product_id: 4, quantity: 1 })),
  http.post(`${urls.users}/auth/register`, () => HttpResponse.json({ user_id: 7, email: "ada@example.com", name: "Ada" }, { status: 201 })),
);
beforeAll(() => {
  server.listen({ onUnhandledRequest: "error" });
  server.events.on("request:start", () => void forwarded++);
});
afterEach(() => {
  server.resetHandlers();
  forwarded = 0;
});
afterAll(() => server.close());

const SECURE_HEADERS = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "SAMEORIGIN",
  "referrer-policy": "no-referrer",
  "strict-transport-security": "max-age=15552000; includeSubDomains",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "x-permitted-cross-domain-policies": "none",
};

describe("secure headers", () => {
  test.each([
    ["a listing (200)", "/products/all", {}],
    ["a refusal (401)", "/cart", {}],
    ["a validation error (400)", "/products/all?limit=0", {}],
    ["an unknown route (404)", "/nowhere", {}],
    ["the OpenAPI document", "/openapi.json", {}],
    ["the docs page", "/docs", {}],
  ] as const)("are on %s", async (_, path, init) => {
    const res = await testApp().request(path, init);
    for (const [name, value] of Object.entries(SECURE_HEADERS)) expect(res.headers.get(name), name).toBe(value);
    expect(res.headers.get("x-powered-by")).toBeNull();
  });
});

describe("a body over 64 KiB", () => {
  const big = JSON.stringify({ product_id: 4, pad: "x".repeat(DEFAULT_BODY_LIMIT_BYTES) });

  /** The same bytes in 1 KiB chunks, with no Content-Length: the size is learnt only by reading. */
  const streamed = (text: string) => {
    const bytes = new TextEncoder().encode(text);
    return new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 1024) controller.enqueue(bytes.slice(i, i + 1024));
        controller.close();
      },
    });
  };

  const expectTooLarge = async (res: Response) => {
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: { code: "PAYLOAD_TOO_LARGE", message: `the request body is over ${DEFAULT_BODY_LIMIT_BYTES} bytes` } });
    expect(forwarded).toBe(0);
  };

  for (const [route, auth] of [
    ["/cart", true],
    ["/checkout", true],
    ["/auth/register", false],
  ] as const) {
    test(`POST ${route} with Content-Length: 413 PAYLOAD_TOO_LARGE, nothing forwarded`, async () => {
      const headers: Record<string, string> = { "content-type": "application/json", "content-length": String(big.length), ...(auth ? await issuer.auth(7) : {}) };
      await expectTooLarge(await testApp().request(route, { method: "POST", headers, body: big }));
    });

    test(`POST ${route} streamed (chunked, no Content-Length): 413 PAYLOAD_TOO_LARGE, nothing forwarded`, async () => {
      const request = new Request(`http://bff.test${route}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(auth ? await issuer.auth(7) : {}) },
        body: streamed(big),
        duplex: "half",
      } as RequestInit);
      expect(request.headers.get("content-length")).toBeNull();
      await expectTooLarge(await testApp().request(request));
    });
  }

  test("just under the limit, streamed, is read and forwarded", async () => {
    const body = JSON.stringify({ email: "ada@example.com", password: "correct horse battery", name: "Ada" });
    const res = await testApp().request(
      new Request("http://bff.test/auth/register", { method: "POST", headers: { "content-type": "application/json" }, body: streamed(body), duplex: "half" } as RequestInit),
    );
    expect(res.status).toBe(201);
    expect(forwarded).toBe(1);
  });
});

describe("CORS", () => {
  const ALLOWED = "https://shop.example";
  const corsApp = () => createApp({ urls, verifier: issuer.verifier, deadlines: DEADLINES, productsCache: NO_CACHE, corsOrigins: [ALLOWED] });
  const preflight = (origin: string) => ({
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
  });
  const corsHeaders = (res: Response) => [...res.headers.keys()].filter((name) => name.startsWith("access-control-"));

  test("an allowed origin's preflight is answered with that origin, the methods and the headers it may send", async () => {
    const res = await corsApp().request("/cart", preflight(ALLOWED));
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    expect(res.headers.get("access-control-allow-headers")).toContain("authorization");
    expect(res.headers.get("vary")).toContain("Origin");
    expect(forwarded).toBe(0);
  });

  test("an allowed origin's 401 carries access-control-allow-origin, so the browser lets the page read it", async () => {
    const res = await corsApp().request("/cart", { headers: { origin: ALLOWED } });
    expect(res.status).toBe(401);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(res.headers.get("access-control-expose-headers")).toContain("x-request-id");
    // What a checkout's client needs to read: where its pending order is, and whether the answer is a replay.
    expect(res.headers.get("access-control-expose-headers")).toContain("location");
    expect(res.headers.get("access-control-expose-headers")).toContain("idempotent-replayed");
    expect(res.headers.get("www-authenticate")).toBe("Bearer");
  });

  test("an allowed origin's listing carries it too", async () => {
    const res = await corsApp().request("/products/all", { headers: { origin: ALLOWED } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
  });

  test("another origin gets no access-control-allow-origin, on a preflight or an answer", async () => {
    for (const res of [
      await corsApp().request("/cart", preflight("https://evil.example")),
      await corsApp().request("/cart", { headers: { origin: "https://evil.example" } }),
      await corsApp().request("/products/all", { headers: { origin: "https://shop.example.evil" } }),
    ]) {
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
    }
  });

  test("without corsOrigins there are no CORS headers at all", async () => {
    for (const res of [
      await testApp().request("/cart", preflight(ALLOWED)),
      await testApp().request("/cart", { headers: { origin: ALLOWED } }),
      await testApp().request("/products/all", { headers: { origin: ALLOWED } }),
    ]) {
      expect(corsHeaders(res)).toEqual([]);
    }
  });
});

describe("rate limits on every public route", () => {
  // The real middleware, counting in memory (no Redis): these tests are about where it is mounted.
  let limits: RateLimits;
  afterEach(async () => {
    await limits?.close();
  });
  const limitedApp = () => {
    limits = createRateLimits({ redis: null, logger: captureLogs("bff").logger, remoteAddress: () => "203.0.113.9" });
    return createApp({ urls, verifier: issuer.verifier, deadlines: DEADLINES, productsCache: NO_CACHE, rateLimits: limits });
  };

  test("each documented operation answers with RateLimit headers, a 401 with its Bearer challenge included", async () => {
    const app = limitedApp();
    const doc = (await (await app.request(DOCUMENT_PATH)).json()) as { paths: Record<string, Record<string, { security?: object[] }>> };
    let checked = 0;
    for (const [template, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        // Anonymous callers, and bodies that are JSON but wrong: no request needs an upstream but the listing.
        const path = template.replace(/\{[^}]+\}/g, "1");
        const init: RequestInit = method === "get" ? {} : { method: method.toUpperCase(), headers: { "content-type": "application/json" }, body: "{}" };
        const res = await app.request(path, init);
        const where = `${method.toUpperCase()} ${template} (${res.status})`;
        expect(res.headers.get("ratelimit"), where).toContain('"ip";r=');
        expect(res.headers.get("ratelimit-policy"), where).toContain('"ip";q=');
        const needsToken = op.security !== undefined && !op.security.some((s) => Object.keys(s).length === 0);
        if (needsToken) {
          expect(res.status, where).toBe(401);
          expect(res.headers.get("www-authenticate"), where).toBe("Bearer");
        }
        checked++;
      }
    }
    expect(checked).toBe(30);
  });

  test("a courier's and an admin's delivery routes count against their user's quota", async () => {
    server.use(
      http.get(`${urls.delivery}/couriers/me/deliveries`, () => HttpResponse.json({ deliveries: [], next_after: null })),
      http.post(`${urls.delivery}/couriers/me/deliveries/:id/done`, () => HttpResponse.json({ error: { code: "NOT_FOUND", message: "no delivery 4 of yours" } }, { status: 404 })),
      http.get(`${urls.delivery}/couriers`, () => HttpResponse.json([])),
    );
    const app = limitedApp();
    const remaining = (res: Response) => Number(/"user";r=(\d+)/.exec(res.headers.get("ratelimit") ?? "")?.[1]);
    const courier = await issuer.auth(7, "courier");
    const list = await app.request("/courier/deliveries", { headers: courier });
    const done = await app.request("/courier/deliveries/4/done", { method: "POST", headers: courier });
    expect([list.status, done.status]).toEqual([200, 404]);
    for (const res of [list, done]) expect(res.headers.get("ratelimit")).toMatch(/"user";r=\d+/);
    expect(remaining(done)).toBe(remaining(list) - 1);
    // A refusal counts too: a customer cannot probe the courier routes for free.
    const customer = await issuer.auth(5);
    const first = await app.request("/courier/deliveries", { headers: customer });
    const second = await app.request("/admin/couriers", { headers: customer });
    expect([first.status, second.status]).toEqual([403, 403]);
    expect(remaining(second)).toBe(remaining(first) - 1);
    const admin = await issuer.auth(1, "admin");
    expect(remaining(await app.request("/admin/couriers", { headers: admin }))).toBeGreaterThan(0);
  });

  test("a user's checkout and orders count against the user's quota", async () => {
    server.use(
      http.post(`${urls.orders}/users/:id/orders`, () => HttpResponse.json({ order_id: 1, status: "pending" }, { status: 202 })),
      http.get(`${urls.orders}/users/:id/orders`, () => HttpResponse.json({ orders: [], next_after: null })),
    );
    const app = limitedApp();
    const auth = await issuer.auth(7);
    const checkout = await app.request("/checkout", {
      method: "POST",
      headers: { ...auth, "content-type": "application/json", "idempotency-key": "k-1" },
      body: JSON.stringify({ shipping_address: { name: "A", line1: "1 Road", city: "Town", postal_code: "1000", country: "BE" }, card_token: "tok" }),
    });
    expect(checkout.status).toBe(202);
    const list = await app.request("/orders", { headers: auth });
    expect(list.status).toBe(200);
    const remaining = (res: Response) => Number(/"user";r=(\d+)/.exec(res.headers.get("ratelimit") ?? "")?.[1]);
    expect(remaining(list)).toBe(remaining(checkout) - 1);
  });
});
