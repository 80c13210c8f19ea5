// GET /admin/status and PUT /admin/chaos/inventory: the services' /metrics are msw stand-ins, the queue counts
// come from a real Redis under a prefix of this file's own. A part that does not answer is null (Redis "down")
// and the rest is still there; only admins get in; the switch is forwarded to inventory, its 404 passed on.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { delay, http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import type { Redis } from "ioredis";
import { createQueueCounts, type QueueCountsReader } from "@storefront/shared/outbox/queue-counts";
import { createEventQueues, type EventQueues } from "@storefront/shared/outbox/event-queues";
import { subscribedQueues } from "@storefront/shared/notifications/events";
import { deletePrefix, requireRedis, testRedisUrl, uniquePrefix } from "@storefront/shared/testing/test-redis";
import { freePort } from "../../../../tests/support/free-ports.ts";
import { createApp } from "../app.ts";
import { createRateLimitRedis } from "../middleware/rate-limit.ts";
import { responseProblem } from "../openapi.ts";
import { call, DEADLINES, happyHandlers, issuer, NO_CACHE, urls } from "../test-upstreams.ts";

const redisUp = await requireRedis("BFF status page");

const metrics = (pending?: number) =>
  new HttpResponse(`# HELP http_requests_total x\n# TYPE http_requests_total counter\n${pending === undefined ? "" : `# HELP outbox_pending_events x\n# TYPE outbox_pending_events gauge\noutbox_pending_events ${pending}\n`}`, {
    headers: { "content-type": "text/plain; version=0.0.4" },
  });
const allMetrics = [
  http.get(`${urls.products}/metrics`, () => metrics(3)),
  http.get(`${urls.inventory}/metrics`, () => metrics(0)),
  http.get(`${urls.cart}/metrics`, () => metrics(7)),
  http.get(`${urls.orders}/metrics`, () => metrics(1)),
  http.get(`${urls.delivery}/metrics`, () => metrics(2)),
];

const server = setupServer(...happyHandlers, ...allMetrics);
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const admin = { user: 1, role: "admin" } as const;
/** One attempt per call: the breaker sees each failure once. */
const NO_RETRY = { attempts: 1, baseMs: 1, maxMs: 1, minAttemptMs: 1 };
const STATUS_DEADLINE_MS = 300;
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const clean of cleanups.reverse()) await clean();
});

/** Queue counts on a connection built as index.ts builds it, under `prefix`. */
function queueReader(url: string, prefix: string): QueueCountsReader {
  const connection: Redis = createRateLimitRedis(url);
  connection.on("error", () => {});
  const reader = createQueueCounts({ connection, prefix });
  cleanups.push(async () => {
    await reader.close();
    connection.disconnect();
  });
  return reader;
}

const appWith = (options: Partial<Parameters<typeof createApp>[0]> = {}) =>
  createApp({ urls, verifier: issuer.verifier, deadlines: DEADLINES, productsCache: NO_CACHE, statusDeadlineMs: STATUS_DEADLINE_MS, ...options });

describe.skipIf(!redisUp)("GET /admin/status", () => {
  let prefix: string;
  let events: EventQueues;
  let queues: QueueCountsReader;

  beforeAll(async () => {
    prefix = uniquePrefix("bff-status");
    cleanups.push(() => deletePrefix(testRedisUrl, prefix));
    events = createEventQueues({ redisUrl: testRedisUrl, prefix });
    cleanups.push(() => events.close());
    queues = queueReader(testRedisUrl, prefix);
    // notifications: two waiting, one delayed; delivery: one waiting. (Active and failed are queue-counts.test.ts's.)
    const job = () => ({ name: "cart.changed", data: { type: "cart.changed", payload: { user_id: 1, items: 1 }, event_id: randomUUID(), occurred_at: new Date().toISOString() } as any });
    await events.queues.notifications!.add(job().name, job().data);
    await events.queues.notifications!.add(job().name, job().data);
    await events.queues.notifications!.add(job().name, job().data, { delay: 600_000 });
    await events.queues.delivery!.add(job().name, job().data);
  });

  test("shows every upstream's breaker, the queues' counts, each outbox backlog and Redis up, as documented", async () => {
    const res = await call(appWith({ queues }), "/admin/status", admin);
    expect(res.status).toBe(200);
    expect(responseProblem("GET", "/admin/status", 200, res.body)).toBeUndefined();
    const body = res.body;
    expect(body.upstreams.map((u: any) => u.name)).toEqual(["products", "inventory", "cart", "favorites", "notifications", "users", "orders", "delivery"]);
    for (const u of body.upstreams) expect(u).toMatchObject({ state: "closed", calls: 0, failures: 0, slow: 0, half_open_in_ms: null, latency_ms: { p50: null, p99: null, count: 0 }, replicas: null });
    const byName = Object.fromEntries(body.queues.map((q: any) => [q.name, q]));
    expect(body.queues.map((q: any) => q.name)).toEqual(subscribedQueues());
    expect(byName.notifications).toEqual({ name: "notifications", waiting: 2, active: 0, delayed: 1, failed: 0 });
    expect(byName.delivery).toEqual({ name: "delivery", waiting: 1, active: 0, delayed: 0, failed: 0 });
    expect(byName.orders).toEqual({ name: "orders", waiting: 0, active: 0, delayed: 0, failed: 0 });
    expect(body.outboxes).toEqual([
      { service: "products", pending: 3 },
      { service: "inventory", pending: 0 },
      { service: "cart", pending: 7 },
      { service: "orders", pending: 1 },
      { service: "delivery", pending: 2 },
    ]);
    expect(body.redis).toBe("up");
    expect(Date.parse(body.generated_at)).toBeGreaterThan(Date.now() - 60_000);
  });

  test("latency per upstream from the BFF's own calls; an open breaker shows when it will probe", async () => {
    const app = appWith({ queues, retry: NO_RETRY, breaker: { minCalls: 2, failureRatio: 0.5, openMs: 60_000 } });
    server.use(http.get(`${urls.inventory}/inventory`, () => HttpResponse.json({ error: { code: "INTERNAL", message: "x" } }, { status: 500 })));
    for (let i = 0; i < 3; i++) await call(app, "/products/all");
    const { status, body } = await call(app, "/admin/status", admin);
    expect(status).toBe(200);
    const products = body.upstreams.find((u: any) => u.name === "products");
    expect(products.state).toBe("closed");
    expect(products.latency_ms.count).toBe(3);
    expect(products.latency_ms.p50).toBeGreaterThan(0);
    expect(products.latency_ms.p99).toBeGreaterThanOrEqual(products.latency_ms.p50);
    const inventory = body.upstreams.find((u: any) => u.name === "inventory");
    expect(inventory.state).toBe("open");
    expect(inventory.failures).toBeGreaterThanOrEqual(2);
    expect(inventory.half_open_in_ms).toBeGreaterThan(0);
    expect(inventory.half_open_in_ms).toBeLessThanOrEqual(60_000);
    // Refused calls while open are counted too: their latency is the BFF's answer time, near nothing.
    expect(inventory.latency_ms.count).toBeGreaterThanOrEqual(2);
  });

  test("an upstream given as two replicas lists each; one failing is left out and the upstream's breaker stays closed", async () => {
    const second = "http://inventory-2.test";
    const app = appWith({ queues, retry: NO_RETRY, urls: { ...urls, inventory: `${urls.inventory},${second}` } });
    server.use(
      http.get(`${urls.inventory}/inventory`, () => HttpResponse.error()),
      http.get(`${second}/inventory`, ({ request }) => {
        const ids = new URL(request.url).searchParams.get("ids")!.split(",").map(Number);
        return HttpResponse.json(ids.map((product_id) => ({ product_id, inventory: 5 })));
      }),
      http.get(`${second}/metrics`, () => metrics(4)),
    );
    for (let i = 0; i < 6; i++) await call(app, "/products/all");
    const { status, body } = await call(app, "/admin/status", admin);
    expect(status).toBe(200);
    expect(responseProblem("GET", "/admin/status", 200, body)).toBeUndefined();
    const inventory = body.upstreams.find((u: any) => u.name === "inventory");
    expect(inventory.state).toBe("closed");
    expect(inventory.replicas.map((r: any) => r.url)).toEqual([urls.inventory, second]);
    expect(inventory.replicas[0].ejected_for_ms).toBeGreaterThan(0);
    expect(inventory.replicas[1]).toEqual({ url: second, state: "closed", outstanding: 0, ejected_for_ms: null });
    // Each replica's outbox gauge counts the same table: the highest that answered.
    expect(body.outboxes.find((o: any) => o.service === "inventory")).toEqual({ service: "inventory", pending: 4 });
  });

  test("a service hanging or unreachable: its outbox is null within the deadline, the rest present", async () => {
    server.use(
      http.get(`${urls.orders}/metrics`, () => delay("infinite")),
      http.get(`${urls.delivery}/metrics`, () => HttpResponse.error()),
      http.get(`${urls.cart}/metrics`, () => new HttpResponse("oops", { status: 500 })),
      // Up, but its relay has not counted yet: no sample.
      http.get(`${urls.inventory}/metrics`, () => metrics()),
    );
    const res = await call(appWith({ queues }), "/admin/status", admin);
    expect(res.status).toBe(200);
    expect(res.body.outboxes).toEqual([
      { service: "products", pending: 3 },
      { service: "inventory", pending: null },
      { service: "cart", pending: null },
      { service: "orders", pending: null },
      { service: "delivery", pending: null },
    ]);
    expect(res.body.queues).toHaveLength(subscribedQueues().length);
    expect(res.body.redis).toBe("up");
    // Bounded by the parts' deadline (300 ms), with a wide margin for a loaded machine.
    expect(res.ms).toBeLessThan(5000);
    expect(responseProblem("GET", "/admin/status", 200, res.body)).toBeUndefined();
  });

  test("Redis down: queues null and redis down, everything else present, still a 200", async () => {
    const down = queueReader(`redis://127.0.0.1:${freePort()}`, uniquePrefix("bff-status-down"));
    const res = await call(appWith({ queues: down }), "/admin/status", admin);
    expect(res.status).toBe(200);
    expect(res.body.queues).toBeNull();
    expect(res.body.redis).toBe("down");
    expect(res.body.outboxes).toHaveLength(5);
    expect(res.body.upstreams).toHaveLength(8);
    expect(res.ms).toBeLessThan(5000);
    expect(responseProblem("GET", "/admin/status", 200, res.body)).toBeUndefined();
  });

  test("without a Redis given (tests, or a BFF built without one): queues null, redis down", async () => {
    const { status, body } = await call(appWith(), "/admin/status", admin);
    expect(status).toBe(200);
    expect(body).toMatchObject({ queues: null, redis: "down" });
  });
});

describe("PUT /admin/chaos/inventory", () => {
  const knobs = { delay_ms: { min: 100, max: 900 }, fail_rate: 0.5 };
  const put = (app: ReturnType<typeof appWith>, body: unknown, who: { user?: number; role?: any } = admin) => call(app, "/admin/chaos/inventory", { ...who, method: "PUT", body: JSON.stringify(body) });

  test("forwards the knobs to inventory's PUT /admin/chaos with the admin's token, and answers what inventory answers", async () => {
    let seen: { body: unknown; authorization: string | null } | undefined;
    server.use(
      http.put(`${urls.inventory}/admin/chaos`, async ({ request }) => {
        seen = { body: await request.json(), authorization: request.headers.get("authorization") };
        return HttpResponse.json(knobs);
      }),
    );
    const res = await put(appWith(), knobs);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(knobs);
    expect(seen?.body).toEqual(knobs);
    expect(seen?.authorization).toStartWith("Bearer ");
    expect(responseProblem("PUT", "/admin/chaos/inventory", 200, res.body)).toBeUndefined();
  });

  test("inventory without the switches: its 404 is passed on", async () => {
    server.use(http.put(`${urls.inventory}/admin/chaos`, () => HttpResponse.json({ error: { code: "NOT_FOUND", message: "no route PUT /admin/chaos" } }, { status: 404 })));
    const res = await put(appWith(), { delay_ms: null, fail_rate: 0 });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("NOT_FOUND");
    expect(responseProblem("PUT", "/admin/chaos/inventory", 404, res.body)).toBeUndefined();
  });

  test("bad knobs: 400 here, inventory not called", async () => {
    let calls = 0;
    server.use(http.put(`${urls.inventory}/admin/chaos`, () => void calls++));
    const app = appWith();
    for (const body of [{ delay_ms: null, fail_rate: 2 }, { delay_ms: { min: 5, max: 1 }, fail_rate: 0 }, { fail_rate: 0 }, { delay_ms: null, fail_rate: 0, extra: 1 }]) {
      const res = await put(app, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe("BAD_REQUEST");
    }
    expect(calls).toBe(0);
  });

  test("inventory's breaker open (what the switch is for) does not stop the switch that turns it back", async () => {
    const app = appWith({ retry: NO_RETRY, breaker: { minCalls: 2, failureRatio: 0.5, openMs: 60_000 } });
    server.use(
      http.get(`${urls.inventory}/inventory`, () => HttpResponse.json({ error: { code: "INJECTED_FAILURE", message: "x" } }, { status: 500 })),
      http.put(`${urls.inventory}/admin/chaos`, async ({ request }) => HttpResponse.json(await request.json())),
    );
    for (let i = 0; i < 3; i++) await call(app, "/products/all");
    expect((await call(app, "/health/upstreams")).body.upstreams.find((u: any) => u.name === "inventory").state).toBe("open");
    const res = await put(app, { delay_ms: null, fail_rate: 0 });
    expect(res.status).toBe(200);
  });

  test("inventory down: 502 UPSTREAM_ERROR in the envelope", async () => {
    server.use(http.put(`${urls.inventory}/admin/chaos`, () => HttpResponse.error()));
    const res = await put(appWith(), { delay_ms: null, fail_rate: 0 });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe("UPSTREAM_ERROR");
  });
});

describe("who may see the status and turn the switches", () => {
  const app = appWith();
  const routes = [
    { method: "GET", path: "/admin/status" },
    { method: "PUT", path: "/admin/chaos/inventory", body: JSON.stringify({ delay_ms: null, fail_rate: 1 }) },
  ];

  test("no token: 401 UNAUTHENTICATED with a Bearer challenge", async () => {
    for (const r of routes) {
      const res = await call(app, r.path, { method: r.method, body: r.body });
      expect(res.status, r.path).toBe(401);
      expect(res.body.error.code).toBe("UNAUTHENTICATED");
      expect(res.headers.get("www-authenticate")).toStartWith("Bearer");
    }
  });

  test("a customer, a courier or a service: 403 FORBIDDEN, and inventory never hears of it", async () => {
    let calls = 0;
    server.use(http.put(`${urls.inventory}/admin/chaos`, () => void calls++));
    for (const r of routes) {
      for (const who of [{ user: 7 }, { user: 8, role: "courier" as const }, { user: "notifications", role: "service" as const }]) {
        // Invalid knobs from a refused caller: still a 403, not a validation message.
        for (const body of [r.body, r.body && JSON.stringify({ fail_rate: 9 })]) {
          const res = await call(app, r.path, { method: r.method, body, ...who });
          expect(res.status, `${r.path} as ${who.role ?? "customer"}`).toBe(403);
          expect(res.body.error.code).toBe("FORBIDDEN");
        }
      }
    }
    expect(calls).toBe(0);
  });
});
