// Who may call /reservations: services (the orders saga) and admins. No token, or one that does not verify, is
// 401 with a Bearer challenge; a customer's or a courier's token is 403, even with a body that would be a 400.
// A refused call changes no stock, no reservation, writes no event and wakes no relay.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import type { Role } from "@storefront/shared/auth/identity";
import { createTestIssuer, type TestIssuer } from "@storefront/shared/testing/token-issuer";
import { reservationsFixture, type ReservationsFixture } from "../testing/reservations-fixture.ts";

let f: ReservationsFixture;
let stranger: TestIssuer;
const PRODUCT = 1; // seeded with 42
/** An active reservation (of the seeded product) that a commit or release let through would change. */
const HELD = 500;
let nextOrder = 1000;

beforeAll(async () => {
  f = await reservationsFixture("inventory_reservations_auth");
  stranger = await createTestIssuer();
  expect((await f.reserve(HELD, [{ product_id: PRODUCT, quantity: 2 }])).status).toBe(201);
}, 60_000);
afterAll(() => f?.close());
beforeEach(async () => {
  await f.db.sql`delete from outbox`;
  f.resetWakes();
});

const snapshot = async () => ({
  stock: [...(await f.db.sql`select * from stock order by product_id`)],
  reservations: [...(await f.db.sql`select * from reservations order by order_id`)],
  items: [...(await f.db.sql`select * from reservation_items order by order_id, product_id`)],
  outbox: [...(await f.db.sql`select id from outbox`)],
});

type Route = { name: string; method: string; path: () => string; body?: () => unknown; invalid: { path?: string; body?: unknown }[] };
const routes: Route[] = [
  {
    name: "POST /reservations",
    method: "POST",
    path: () => "/reservations",
    body: () => ({ order_id: nextOrder++, items: [{ product_id: PRODUCT, quantity: 1 }] }),
    invalid: [{ body: {} }, { body: { order_id: 0, items: [] } }],
  },
  { name: "GET /reservations/:order_id", method: "GET", path: () => `/reservations/${HELD}`, invalid: [{ path: "/reservations/0" }] },
  {
    name: "POST /reservations/:order_id/commit",
    method: "POST",
    path: () => `/reservations/${HELD}/commit`,
    invalid: [{ path: "/reservations/abc/commit" }],
  },
  {
    name: "POST /reservations/:order_id/release",
    method: "POST",
    path: () => `/reservations/${HELD}/release`,
    invalid: [{ path: "/reservations/-1/release" }],
  },
];

async function send(route: Route, headers: Record<string, string>, override: { path?: string; body?: unknown } = {}) {
  const body = "body" in override ? override.body : route.body?.();
  return f.call(route.method, override.path ?? route.path(), body, headers);
}

/** Sends and checks that nothing changed: stock, reservations, the outbox, the relay. */
async function refused(route: Route, headers: Record<string, string>, override?: { path?: string; body?: unknown }) {
  const before = await snapshot();
  const res = await send(route, headers, override);
  expect(await snapshot()).toEqual(before);
  expect(f.wakes()).toBe(0);
  return res;
}

const forbiddenRoles: Role[] = ["customer", "courier"];

for (const route of routes) {
  describe(`${route.name} is for services and admins`, () => {
    test("no token: 401 UNAUTHENTICATED with a Bearer challenge, nothing changed", async () => {
      const res = await refused(route, {});
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("UNAUTHENTICATED");
      const raw = await f.app.request(route.path(), { method: route.method });
      expect(raw.headers.get("www-authenticate")).toStartWith("Bearer");
    });

    test("a token from another issuer, an expired one, or not a Bearer token: 401, nothing changed", async () => {
      const headers = [
        await stranger.auth("orders", "service"),
        { authorization: `Bearer ${await f.issuer.token("orders", "service", -60)}` },
        { authorization: `Basic ${btoa("admin:admin")}` },
      ];
      for (const h of headers) expect((await refused(route, h)).status).toBe(401);
    });

    for (const role of forbiddenRoles) {
      test(`a ${role}'s token: 403 FORBIDDEN, nothing changed, even with input that would be a 400`, async () => {
        const headers = await f.issuer.auth(7, role);
        const res = await refused(route, headers);
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe("FORBIDDEN");
        // Nothing of the reservation shows in a refusal.
        expect(JSON.stringify(res.body)).not.toContain("product_id");
        for (const input of route.invalid) expect((await refused(route, headers, input)).status).toBe(403);
      });
    }
  });
}

describe("allowed callers", () => {
  test.each([
    ["a service's token", "orders", "service"],
    ["an admin's token", 1, "admin"],
  ] as const)("%s reaches every route", async (_, sub, role) => {
    const headers = await f.issuer.auth(sub, role);
    const id = nextOrder++;
    const reserved = await f.call("POST", "/reservations", { order_id: id, items: [{ product_id: PRODUCT, quantity: 1 }] }, headers);
    expect(reserved.status).toBe(201);
    expect((await f.call("GET", `/reservations/${id}`, undefined, headers)).status).toBe(200);
    expect((await f.call("POST", `/reservations/${id}/commit`, undefined, headers)).status).toBe(200);
    expect((await f.call("POST", `/reservations/${id}/release`, undefined, headers)).body).toEqual({ order_id: id, status: "returned" });
  });
});
