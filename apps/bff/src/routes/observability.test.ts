import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { delay, http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { createLogger } from "@storefront/shared/observability/logger";
import { createObservability } from "@storefront/shared/observability/observability";
import { createApp } from "../app.ts";
import { call, DEADLINES, happyHandlers, issuer, NO_CACHE, urls } from "../test-upstreams.ts";

const server = setupServer(...happyHandlers);
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  server.resetHandlers();
  server.events.removeAllListeners();
});
afterAll(() => server.close());

let app: ReturnType<typeof createApp>;
let lines: any[];
beforeEach(() => {
  lines = [];
  const observability = createObservability("bff", { logger: createLogger("bff", "info", (l) => lines.push(JSON.parse(l))) });
  app = createApp({ urls, verifier: issuer.verifier, deadlines: DEADLINES, observability, productsCache: NO_CACHE });
});

const metrics = async () => (await app.request("/metrics")).text();

describe("request id and deadline propagation", () => {
  test("every upstream call carries the request id and the time left before the deadline", async () => {
    const seen: { host: string; id: string | null; deadline: number }[] = [];
    server.events.on("request:start", ({ request }) =>
      seen.push({ host: new URL(request.url).hostname, id: request.headers.get("x-request-id"), deadline: Number(request.headers.get("x-deadline-ms")) }),
    );
    const { headers } = await call(app, "/products/all", { user: "1", headers: { "x-request-id": "req-42" } });
    expect(headers.get("x-request-id")).toBe("req-42");
    expect(seen.map((s) => s.host).sort()).toEqual(["cart.test", "favorites.test", "inventory.test", "products.test"]);
    for (const s of seen) {
      expect(s.id).toBe("req-42");
      expect(s.deadline).toBeGreaterThan(0);
      expect(s.deadline).toBeLessThanOrEqual(DEADLINES.productsMs);
    }
  });

  test("forwarded changes carry them too", async () => {
    let seen: Headers | undefined;
    server.use(
      http.post(`${urls.cart}/users/:id/cart`, ({ request }) => {
        seen = request.headers;
        return HttpResponse.json({ product_id: 1, quantity: 1 });
      }),
    );
    await call(app, "/cart", { method: "POST", user: "1", body: JSON.stringify({ product_id: 1 }), headers: { "x-request-id": "req-7" } });
    expect(seen?.get("x-request-id")).toBe("req-7");
    expect(Number(seen?.get("x-deadline-ms"))).toBeGreaterThan(0);
  });
});

describe("Server-Timing and the log line", () => {
  test("the listing says how long each upstream took", async () => {
    const { headers } = await call(app, "/products/all", { user: "1" });
    const timing = headers.get("server-timing")!;
    for (const name of ["products", "cart", "favorites", "inventory"]) expect(timing).toMatch(new RegExp(`${name};dur=[\\d.]+;desc="ok"`));
    const line = lines.find((l) => l.msg === "request");
    expect(line).toMatchObject({ route: "/products/all", status: 200 });
    expect(line.upstreams.map((u: any) => u.name).sort()).toEqual(["cart", "favorites", "inventory", "products"]);
  });

  test("a late part is marked as a timeout", async () => {
    server.use(http.get(`${urls.cart}/users/:id/cart`, () => delay("infinite")));
    const { headers } = await call(app, "/products/all", { user: "1" });
    expect(headers.get("server-timing")).toMatch(/cart;dur=[\d.]+;desc="timeout"/);
  });
});

describe("BFF metrics", () => {
  test("upstream latency by outcome, breaker states and degraded counts", async () => {
    server.use(http.get(`${urls.inventory}/inventory`, () => HttpResponse.json({}, { status: 400 })));
    await call(app, "/products/all", { user: "1" });
    const text = await metrics();
    expect(text).toContain('bff_upstream_request_duration_seconds_count{upstream="products",outcome="ok"} 1');
    expect(text).toContain('bff_upstream_request_duration_seconds_count{upstream="inventory",outcome="client_error"} 1');
    expect(text).toContain('bff_circuit_breaker_state{upstream="products",state="closed"} 1');
    expect(text).toContain('bff_circuit_breaker_state{upstream="products",state="open"} 0');
    expect(text).toContain('bff_listing_degraded_total{part="inventory"} 1');
    expect(text).toContain('http_requests_total{method="GET",route="/products/all",status="200"} 1');
  });

  test("an unreachable upstream is counted as such", async () => {
    server.use(http.get(`${urls.favorites}/users/:id/favorites`, () => HttpResponse.error()));
    await call(app, "/products/all", { user: "1" });
    expect(await metrics()).toContain('bff_upstream_request_duration_seconds_count{upstream="favorites",outcome="unreachable"} 1');
  });
});
