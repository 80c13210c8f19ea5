// Who may call payments: services (the orders service) and admins, on every route. No token or a token that
// does not verify is a 401 with a Bearer challenge; a customer's or courier's token is a 403, checked before
// the input, so a refused caller learns nothing and charges, refunds and reads nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Role } from "@storefront/shared/auth/identity";
import { createTestIssuer, type TestIssuer } from "@storefront/shared/testing/token-issuer";
import { buildApp, createTestbed, nextOrderId, postCharge, type App, type CountingProvider, type Testbed } from "../testing/payments-app.ts";

let bed: Testbed;
let app: App;
let provider: CountingProvider;
let stranger: TestIssuer;
let paid: { payment_id: string; order_id: number };

beforeAll(async () => {
  bed = await createTestbed("payments_auth");
  stranger = await createTestIssuer();
  ({ app, provider } = buildApp(bed));
  const order_id = nextOrderId();
  const res = await postCharge(app, bed, `auth-${order_id}`, { order_id, amount_cents: 999, card_token: "tok_visa" });
  paid = (await res.json()) as typeof paid;
}, 60_000);
afterAll(() => bed?.db.drop());

/** `invalid`: what an allowed caller would get a 400 or 404 for; a refused caller still gets its 401 or 403. */
type Route = { name: string; method: string; path: () => string; headers?: Record<string, string>; body?: string; ok: number; invalid: Partial<Route> };

const routes: Route[] = [
  {
    name: "POST /payments",
    method: "POST",
    path: () => "/payments",
    headers: { "idempotency-key": "auth-probe", "content-type": "application/json" },
    body: JSON.stringify({ order_id: 424242, amount_cents: 100, card_token: "tok_visa" }),
    ok: 201,
    invalid: { body: "{not json" },
  },
  { name: "GET /payments?order_id=", method: "GET", path: () => `/payments?order_id=${paid.order_id}`, ok: 200, invalid: { path: () => "/payments?order_id=abc" } },
  { name: "GET /payments/:id", method: "GET", path: () => `/payments/${paid.payment_id}`, ok: 200, invalid: { path: () => "/payments/not-a-uuid" } },
  {
    name: "POST /payments/:id/refund",
    method: "POST",
    path: () => `/payments/${paid.payment_id}/refund`,
    ok: 200,
    invalid: { body: '{"amount_cents": 1}' },
  },
];

const send = (route: Route, auth: Record<string, string>, override: Partial<Route> = {}) => {
  const r = { ...route, ...override };
  return app.request(r.path(), { method: r.method, headers: { ...r.headers, ...auth }, body: r.body });
};

const snapshot = async () => ({
  payments: [...(await bed.db.sql`select * from payments order by id`)],
  ledger: [...(await bed.db.sql`select * from provider_charges order by payment_id`)],
  calls: { charges: provider.charges, refunds: provider.refunds },
});

async function expectRefused(res: Response, status: 401 | 403) {
  const body = (await res.json()) as any;
  expect(res.status).toBe(status);
  expect(body.error.code).toBe(status === 401 ? "UNAUTHENTICATED" : "FORBIDDEN");
  if (status === 401) expect(res.headers.get("www-authenticate")).toStartWith("Bearer");
  expect(JSON.stringify(body)).not.toContain(paid.payment_id);
}

// Refusals first, while the refund route still has a succeeded payment a wrong let-through would change.
describe.each(routes)("$name is for services and admins only", (route) => {
  test("no token: 401 with a Bearer challenge, nothing changed", async () => {
    const before = await snapshot();
    await expectRefused(await send(route, {}), 401);
    expect(await snapshot()).toEqual(before);
  });

  test("a token that does not verify (another issuer's service token, an expired one, not a JWT): 401, nothing changed", async () => {
    const before = await snapshot();
    for (const auth of [
      await stranger.auth("orders", "service"),
      { authorization: `Bearer ${await bed.issuer.token("orders", "service", -60)}` },
      { authorization: "Bearer not-a-jwt" },
      { authorization: `Basic ${btoa("admin:admin")}` },
    ]) {
      await expectRefused(await send(route, auth), 401);
    }
    expect(await snapshot()).toEqual(before);
  });

  for (const role of ["customer", "courier"] as Role[]) {
    test(`a ${role}'s token: 403 FORBIDDEN, nothing changed, even with invalid input`, async () => {
      const before = await snapshot();
      const auth = await bed.issuer.auth(7, role);
      await expectRefused(await send(route, auth), 403);
      await expectRefused(await send(route, auth, route.invalid), 403);
      expect(await snapshot()).toEqual(before);
    });
  }
});

describe("allowed callers", () => {
  for (const role of ["service", "admin"] as Role[]) {
    test(`${role === "admin" ? "an" : "a"} ${role}'s token gets through every route`, async () => {
      const auth = await bed.issuer.auth(role === "service" ? "orders" : 1, role);
      for (const route of routes) {
        const headers = route.name === "POST /payments" ? { ...route.headers, "idempotency-key": `auth-probe-${role}` } : route.headers;
        const body = route.name === "POST /payments" ? JSON.stringify({ order_id: nextOrderId(), amount_cents: 100, card_token: "tok_visa" }) : undefined;
        const res = await send(route, auth, { headers, body });
        expect(res.status, `${role} ${route.name}`).toBe(route.ok);
      }
    });
  }
});
