// The delivery routes through the BFF (/admin/deliveries, /admin/couriers, /courier/deliveries), against an msw
// stand-in for the delivery service: what is forwarded (path, query, body, the caller's token), delivery's
// answers passed on, who is refused before anything is called (every role on every route), bad input never
// forwarded, and delivery failing, hanging and tripping its own breaker.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { delay, http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import type { Role } from "@storefront/shared/auth/identity";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp } from "../app.ts";
import { responseProblem } from "../openapi.ts";
import { call, DEADLINES, issuer, NO_CACHE, testApp, urls } from "../test-upstreams.ts";

// What reached the stand-ins, noted as each request starts (so every request counts, whoever answers it).
type Seen = { method: string; host: string; path: string; search: string; authorization: string | null; body: unknown };
let requests: Promise<Seen>[] = [];
const note = async (request: Request): Promise<Seen> => {
  const url = new URL(request.url);
  const text = await request.clone().text();
  return {
    method: request.method,
    host: url.hostname.replace(".test", ""),
    path: url.pathname,
    search: url.search,
    authorization: request.headers.get("authorization"),
    body: text ? JSON.parse(text) : null,
  };
};
const received = () => Promise.all(requests);

const at = "2026-11-22T10:00:00.000Z";
const address = { name: "Ada Lovelace", line1: "12 St James's Square", city: "London", postal_code: "SW1Y 4JH", country: "GB" };
const activated = {
  order_id: 41,
  user_id: 5,
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
const assigned = { ...activated, courier: { courier_id: 1, name: "Courier One" }, version: 3, history: [...activated.history, { from: "activated", to: "activated", at, by: "admin user 1" }] };
const done = { ...assigned, status: "done", version: 4, history: [...assigned.history, { from: "activated", to: "done", at, by: "courier 1" }] };
const page = { deliveries: [activated], next_after: null };
const couriers = [
  { courier_id: 1, name: "Courier One" },
  { courier_id: 2, name: "Courier Two" },
];
const envelope = (code: string, message: string, details: Record<string, unknown> = {}) => ({ error: { code, message, ...details } });

const server = setupServer(
  http.get(`${urls.delivery}/deliveries`, () => HttpResponse.json(page)),
  http.get(`${urls.delivery}/deliveries/:id`, () => HttpResponse.json(activated)),
  http.post(`${urls.delivery}/deliveries/:id/courier`, () => HttpResponse.json(assigned)),
  http.get(`${urls.delivery}/couriers`, () => HttpResponse.json(couriers)),
  http.get(`${urls.delivery}/couriers/me/deliveries`, () => HttpResponse.json({ deliveries: [assigned], next_after: 41 })),
  http.post(`${urls.delivery}/couriers/me/deliveries/:id/done`, () => HttpResponse.json(done)),
  http.get(`${urls.orders}/users/:id/orders`, () => HttpResponse.json({ orders: [], next_after: null })),
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

const ADMIN = { user: 1, role: "admin" } as const;
const COURIER = { user: 7, role: "courier" } as const;
const assignBody = (courier_id: unknown = 1) => JSON.stringify({ courier_id });

type Route = { method: string; path: string; body?: string; role: "admin" | "courier"; upstream: string; answer: unknown };
const ROUTES: Route[] = [
  { method: "GET", path: "/admin/deliveries", role: "admin", upstream: "GET /deliveries", answer: page },
  { method: "GET", path: "/admin/deliveries/41", role: "admin", upstream: "GET /deliveries/41", answer: activated },
  { method: "POST", path: "/admin/deliveries/41/courier", body: assignBody(), role: "admin", upstream: "POST /deliveries/41/courier", answer: assigned },
  { method: "GET", path: "/admin/couriers", role: "admin", upstream: "GET /couriers", answer: couriers },
  { method: "GET", path: "/courier/deliveries", role: "courier", upstream: "GET /couriers/me/deliveries", answer: { deliveries: [assigned], next_after: 41 } },
  { method: "POST", path: "/courier/deliveries/41/done", role: "courier", upstream: "POST /couriers/me/deliveries/41/done", answer: done },
];

describe("each route is forwarded to delivery with the caller's token, and its answer comes back as it is", () => {
  for (const route of ROUTES) {
    test(`${route.method} ${route.path} -> ${route.upstream}`, async () => {
      const auth = await issuer.auth(route.role === "admin" ? 1 : 7, route.role);
      const res = await call(app, route.path, { method: route.method, headers: auth, body: route.body });
      expect(res.status).toBe(200);
      expect(res.body).toEqual(route.answer);
      expect(responseProblem(route.method, route.path, 200, res.body)).toBeUndefined();
      const [method, path] = route.upstream.split(" ");
      expect(await received()).toEqual([
        { method: method!, host: "delivery", path: path!, search: "", authorization: auth.authorization, body: route.body ? JSON.parse(route.body) : null },
      ]);
    });
  }

  test("the lists pass status, after and limit on, and only those given", async () => {
    expect((await call(app, "/admin/deliveries?status=activated&after=40&limit=5", ADMIN)).status).toBe(200);
    expect((await call(app, "/admin/deliveries?limit=100", ADMIN)).status).toBe(200);
    expect((await call(app, "/courier/deliveries?status=done&after=2147483647&limit=1", COURIER)).status).toBe(200);
    expect((await call(app, "/courier/deliveries?after=3", COURIER)).status).toBe(200);
    expect((await received()).map((r) => `${r.path}${r.search}`)).toEqual([
      "/deliveries?status=activated&after=40&limit=5",
      "/deliveries?limit=100",
      "/couriers/me/deliveries?status=done&after=2147483647&limit=1",
      "/couriers/me/deliveries?after=3",
    ]);
  });

  test("each status is accepted as a filter", async () => {
    for (const status of ["created", "activated", "done", "canceled"]) expect((await call(app, `/admin/deliveries?status=${status}`, ADMIN)).status, status).toBe(200);
    expect((await received()).map((r) => r.search)).toEqual(["?status=created", "?status=activated", "?status=done", "?status=canceled"]);
  });

  test("a query on the couriers' list is not passed on (it takes none)", async () => {
    expect((await call(app, "/admin/couriers?active=true", ADMIN)).status).toBe(200);
    expect((await received()).map((r) => `${r.path}${r.search}`)).toEqual(["/couriers"]);
  });

  test("a body sent with the courier's done is not passed on", async () => {
    expect((await call(app, "/courier/deliveries/41/done", { ...COURIER, method: "POST", body: JSON.stringify({ status: "done" }) })).status).toBe(200);
    expect((await received())[0]!.body).toBeNull();
  });
});

describe("delivery's refusals come back as they are", () => {
  test.each([
    ["GET /admin/deliveries/:id", "get", "/deliveries/:id", "/admin/deliveries/41", ADMIN, undefined, 404, envelope("NOT_FOUND", "no delivery for order 41")],
    [
      "POST /admin/deliveries/:id/courier, not activated",
      "post",
      "/deliveries/:id/courier",
      "/admin/deliveries/41/courier",
      ADMIN,
      assignBody(),
      409,
      envelope("INVALID_TRANSITION", "delivery 41 is created; a courier is assigned only to an activated delivery", { status: "created" }),
    ],
    [
      "POST /admin/deliveries/:id/courier, a courier already",
      "post",
      "/deliveries/:id/courier",
      "/admin/deliveries/41/courier",
      ADMIN,
      assignBody(2),
      409,
      envelope("INVALID_TRANSITION", "delivery 41 has a courier already", { status: "activated" }),
    ],
    ["POST /admin/deliveries/:id/courier, an unknown courier (404)", "post", "/deliveries/:id/courier", "/admin/deliveries/41/courier", ADMIN, assignBody(9), 404, envelope("NOT_FOUND", "no courier 9")],
    ["POST /admin/deliveries/:id/courier, an unknown courier (400)", "post", "/deliveries/:id/courier", "/admin/deliveries/41/courier", ADMIN, assignBody(9), 400, envelope("BAD_REQUEST", "no courier 9")],
    ["POST /admin/deliveries/:id/courier, no such delivery", "post", "/deliveries/:id/courier", "/admin/deliveries/41/courier", ADMIN, assignBody(), 404, envelope("NOT_FOUND", "no delivery for order 41")],
    ["POST /courier/deliveries/:id/done, another courier's", "post", "/couriers/me/deliveries/:id/done", "/courier/deliveries/41/done", COURIER, undefined, 404, envelope("NOT_FOUND", "no delivery 41 of yours")],
    [
      "POST /courier/deliveries/:id/done, done already",
      "post",
      "/couriers/me/deliveries/:id/done",
      "/courier/deliveries/41/done",
      COURIER,
      undefined,
      409,
      envelope("INVALID_TRANSITION", "delivery 41 is done", { status: "done" }),
    ],
    ["GET /courier/deliveries, a user who is no courier", "get", "/couriers/me/deliveries", "/courier/deliveries", COURIER, undefined, 403, envelope("FORBIDDEN", "user 7 is not a courier")],
  ] as const)("%s: %i", async (_, method, upstreamPath, path, who, body, status, answer) => {
    server.use(http[method](`${urls.delivery}${upstreamPath}`, () => HttpResponse.json(answer, { status })));
    const res = await call(app, path, { ...who, method: method.toUpperCase(), body });
    expect(res.status).toBe(status);
    expect(res.body).toEqual(answer);
    expect(responseProblem(method, path, status, res.body)).toBeUndefined();
  });
});

describe("who may call what: refused before anything is called", () => {
  const CALLERS: { name: string; sub: string | number; role: Role }[] = [
    { name: "a customer", sub: 5, role: "customer" },
    { name: "a courier", sub: 7, role: "courier" },
    { name: "an admin", sub: 1, role: "admin" },
    { name: "a service", sub: "notifications", role: "service" },
  ];

  for (const route of ROUTES) {
    test(`${route.method} ${route.path}: ${route.role}s only; every other role 403 FORBIDDEN, no token 401`, async () => {
      for (const caller of CALLERS) {
        const res = await call(app, route.path, { method: route.method, headers: await issuer.auth(caller.sub, caller.role), body: route.body });
        if (caller.role === route.role) {
          expect(res.status, caller.name).toBe(200);
        } else {
          expect(res.status, caller.name).toBe(403);
          expect(res.body.error.code, caller.name).toBe("FORBIDDEN");
          expect(responseProblem(route.method, route.path, 403, res.body), caller.name).toBeUndefined();
        }
      }
      const anonymous = await call(app, route.path, { method: route.method, body: route.body });
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.error.code).toBe("UNAUTHENTICATED");
      expect(anonymous.headers.get("www-authenticate")).toBe("Bearer");
      // Only the allowed caller's request reached delivery.
      expect((await received()).map((r) => `${r.method} ${r.path}`)).toEqual([route.upstream]);
    });
  }

  test("a refused role with bad input still gets 403, not a validation message, and nothing is forwarded", async () => {
    const customer = await issuer.auth(5);
    const admin = await issuer.auth(1, "admin");
    const courier = await issuer.auth(7, "courier");
    for (const [headers, method, path, body] of [
      [customer, "GET", "/admin/deliveries?limit=0", undefined],
      [courier, "GET", "/admin/deliveries/abc", undefined],
      [courier, "POST", "/admin/deliveries/41/courier", "{nope"],
      [customer, "POST", "/admin/deliveries/41/courier", JSON.stringify({ courier_id: "one" })],
      [courier, "GET", "/admin/couriers?x=1", undefined],
      [admin, "GET", "/courier/deliveries?status=shipped", undefined],
      [customer, "POST", "/courier/deliveries/0/done", undefined],
    ] as const) {
      const res = await call(app, path, { method, headers, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
    }
    expect(await received()).toEqual([]);
  });

  test("a token from another issuer, even an admin's or a courier's: 401 with error=invalid_token on each route, nothing forwarded", async () => {
    const stranger = await createTestIssuer();
    for (const route of ROUTES) {
      const res = await call(app, route.path, { method: route.method, headers: await stranger.auth(route.role === "admin" ? 1 : 7, route.role), body: route.body });
      expect(res.status, route.path).toBe(401);
      expect(res.headers.get("www-authenticate")).toStartWith('Bearer error="invalid_token"');
    }
    expect(await received()).toEqual([]);
  });
});

describe("bad input from an allowed caller: 400 BAD_REQUEST, never forwarded", () => {
  test.each([
    ["GET", "/admin/deliveries?status=shipped"],
    ["GET", "/admin/deliveries?status=ACTIVATED"],
    ["GET", "/admin/deliveries?limit=0"],
    ["GET", "/admin/deliveries?limit=101"],
    ["GET", "/admin/deliveries?limit=1.5"],
    ["GET", "/admin/deliveries?after=abc"],
    ["GET", "/admin/deliveries?after=0"],
    ["GET", "/admin/deliveries?after=-1"],
    ["GET", "/admin/deliveries?after=2147483648"],
    ["GET", "/admin/deliveries?page=2"],
    ["GET", "/admin/deliveries/abc"],
    ["GET", "/admin/deliveries/0"],
    ["GET", "/admin/deliveries/041"],
    ["GET", "/admin/deliveries/99999999999"],
    ["POST", "/admin/deliveries/abc/courier", assignBody()],
    ["POST", "/admin/deliveries/0/courier", assignBody()],
    ["POST", "/admin/deliveries/41/courier", undefined],
    ["POST", "/admin/deliveries/41/courier", "{nope"],
    ["POST", "/admin/deliveries/41/courier", "{}"],
    ["POST", "/admin/deliveries/41/courier", assignBody(0)],
    ["POST", "/admin/deliveries/41/courier", assignBody(-1)],
    ["POST", "/admin/deliveries/41/courier", assignBody(1.5)],
    ["POST", "/admin/deliveries/41/courier", assignBody("1")],
    ["POST", "/admin/deliveries/41/courier", assignBody(null)],
    ["POST", "/admin/deliveries/41/courier", assignBody(2_147_483_648)],
    ["POST", "/admin/deliveries/41/courier", JSON.stringify({ courier_id: 1, status: "done" })],
    ["POST", "/admin/deliveries/41/courier", JSON.stringify([1])],
  ] as [string, string, string?][])("admin: %s %s %s", async (method, path, body) => {
    const res = await call(app, path, { ...ADMIN, method, body });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("BAD_REQUEST");
    expect(responseProblem(method, path, 400, res.body)).toBeUndefined();
    expect(await received()).toEqual([]);
  });

  test.each([
    ["GET", "/courier/deliveries?status=assigned"],
    ["GET", "/courier/deliveries?limit=0"],
    ["GET", "/courier/deliveries?limit=101"],
    ["GET", "/courier/deliveries?after=x"],
    ["GET", "/courier/deliveries?courier_id=2"],
    ["POST", "/courier/deliveries/abc/done"],
    ["POST", "/courier/deliveries/0/done"],
    ["POST", "/courier/deliveries/2147483648/done"],
  ])("courier: %s %s", async (method, path) => {
    const res = await call(app, path, { ...COURIER, method });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("BAD_REQUEST");
    expect(await received()).toEqual([]);
  });

  test("the assign body sent as text: 415, nothing forwarded", async () => {
    const res = await app.request("/admin/deliveries/41/courier", {
      method: "POST",
      headers: { ...(await issuer.auth(1, "admin")), "content-type": "text/plain" },
      body: assignBody(),
    });
    expect(res.status).toBe(415);
    expect(await received()).toEqual([]);
  });
});

describe("delivery failing", () => {
  test("a 5xx is a 502 UPSTREAM_ERROR that shows nothing of its body", async () => {
    server.use(http.get(`${urls.delivery}/couriers`, () => HttpResponse.text("stack trace at 10.0.3.8", { status: 500 })));
    const res = await call(app, "/admin/couriers", ADMIN);
    expect(res.status).toBe(502);
    expect(res.body).toEqual({ error: { code: "UPSTREAM_ERROR", message: "delivery answered 500" } });
  });

  test("hanging: 504 UPSTREAM_TIMEOUT within the write deadline, the call aborted and sent once", async () => {
    let signal: AbortSignal | undefined;
    server.use(
      http.post(`${urls.delivery}/couriers/me/deliveries/:id/done`, async ({ request }) => {
        signal = request.signal;
        await delay("infinite");
      }),
    );
    const res = await call(app, "/courier/deliveries/41/done", { ...COURIER, method: "POST" });
    expect(res.status).toBe(504);
    expect(res.body).toEqual({ error: { code: "UPSTREAM_TIMEOUT", message: `delivery did not answer within ${DEADLINES.writeMs} ms` } });
    // The deadline plus scheduling on a shared machine; the point is one deadline, not a retry's second.
    expect(res.ms).toBeLessThan(DEADLINES.writeMs + 250);
    expect(signal?.aborted).toBe(true);
    expect(await received()).toHaveLength(1);
  });

  describe("its breaker", () => {
    const BREAKER = { windowMs: 10_000, minCalls: 5, failureRatio: 0.5, openMs: 5_000, halfOpenProbes: 1 };
    let now = 0;
    beforeEach(() => {
      now = 1_000_000;
      app = createApp({ urls, verifier: issuer.verifier, deadlines: DEADLINES, breaker: BREAKER, now: () => now, onBreakerChange: () => {}, productsCache: NO_CACHE });
    });
    const breakerOf = async (name: string) => (await call(app, "/health/upstreams")).body.upstreams.find((u: { name: string }) => u.name === name);
    const deliveryDown = () =>
      server.use(
        http.get(`${urls.delivery}/*`, () => HttpResponse.error()),
        http.post(`${urls.delivery}/*`, () => HttpResponse.error()),
      );

    test("delivery unreachable: 502 per call (each sent once), then 503 with Retry-After on every delivery route, delivery not called", async () => {
      deliveryDown();
      for (let i = 0; i < BREAKER.minCalls; i++) {
        const res = await call(app, "/admin/deliveries", ADMIN);
        expect(res.status).toBe(502);
        expect(res.body).toEqual({ error: { code: "UPSTREAM_ERROR", message: "delivery could not be reached" } });
      }
      expect(await received()).toHaveLength(BREAKER.minCalls);
      expect((await breakerOf("delivery")).state).toBe("open");

      now += 1_500;
      for (const route of ROUTES) {
        const res = await call(app, route.path, { method: route.method, body: route.body, user: route.role === "admin" ? 1 : 7, role: route.role });
        expect(res.status, route.path).toBe(503);
        expect(res.body.error.code).toBe("UPSTREAM_UNAVAILABLE");
        expect(res.headers.get("retry-after")).toBe("4"); // 3.5 s left, rounded up
        expect(responseProblem(route.method, route.path, 503, res.body)).toBeUndefined();
      }
      expect(await received()).toHaveLength(BREAKER.minCalls);
    });

    test("its breaker is delivery's own: orders is still called, and its breaker stays closed", async () => {
      deliveryDown();
      for (let i = 0; i < BREAKER.minCalls; i++) await call(app, "/admin/couriers", ADMIN);
      expect((await breakerOf("delivery")).state).toBe("open");
      expect((await call(app, "/orders", { user: 5 })).status).toBe(200);
      expect((await breakerOf("orders")).state).toBe("closed");
    });

    test("after the open duration a probe reaches delivery, and a healthy answer closes the breaker", async () => {
      deliveryDown();
      for (let i = 0; i < BREAKER.minCalls; i++) await call(app, "/courier/deliveries", COURIER);
      server.resetHandlers();
      now += BREAKER.openMs;
      expect((await call(app, "/courier/deliveries", COURIER)).status).toBe(200);
      expect((await breakerOf("delivery")).state).toBe("closed");
    });

    test("delivery's 4xx answers are the caller's, not failures: they never open the breaker", async () => {
      server.use(http.post(`${urls.delivery}/deliveries/:id/courier`, () => HttpResponse.json(envelope("INVALID_TRANSITION", "taken", { status: "activated" }), { status: 409 })));
      for (let i = 0; i < BREAKER.minCalls + 2; i++) expect((await call(app, "/admin/deliveries/41/courier", { ...ADMIN, method: "POST", body: assignBody() })).status).toBe(409);
      expect(await breakerOf("delivery")).toMatchObject({ state: "closed", failures: 0 });
    });
  });
});
