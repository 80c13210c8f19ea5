// Who may call what. Managers' routes (/couriers, /deliveries...) are for admins: customers, couriers and
// services get 403. Courier routes (/couriers/me/...) are for couriers: customers, admins and services get 403,
// and so does a courier token whose user is no courier. No token, a stranger's or an expired one: 401. A refused
// request changes nothing, writes no event and never wakes the relay, even with input that would be a 400.
import { beforeAll, afterAll, beforeEach, describe, expect, test } from "bun:test";
import type { Role } from "@storefront/shared/auth/identity";
import { describeAdminOnlyRoutes, send, type AppUnderTest, type AuthRoute } from "@storefront/shared/testing/auth-matrix";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { COURIER_ONE, deliveryFixture, type DeliveryFixture } from "../testing/delivery-fixture.ts";

const stranger = await createTestIssuer();
let f: DeliveryFixture;
/** Activated without a courier: an assign let through would change it. */
let open: number;
/** Courier 1's activated delivery: a done let through would change it. */
let assigned: number;

beforeAll(async () => {
  f = await deliveryFixture("delivery_auth");
  open = await f.seed("activated");
  assigned = await f.seed("assigned");
}, 60_000);
afterAll(() => f?.close());
beforeEach(() => f.resetOutbox());

const service: AppUnderTest = {
  request: (path, init) => f.app.request(path, init),
  get issuer() {
    return f.issuer;
  },
  stranger,
  snapshot: async () => [...(await f.sql`select * from deliveries order by order_id`), ...(await f.sql`select * from delivery_history order by id`)],
  outbox: { events: () => f.outbox(), wakes: () => f.wakes() },
};

const ADMIN_ROUTES: AuthRoute[] = [
  { name: "GET /couriers", method: "GET", path: () => "/couriers", ok: [200] },
  { name: "GET /deliveries", method: "GET", path: () => "/deliveries", invalid: [{ path: () => "/deliveries?status=lost" }], ok: [200] },
  { name: "GET /deliveries/:order_id", method: "GET", path: () => `/deliveries/${open}`, invalid: [{ path: () => "/deliveries/x" }], ok: [200] },
  {
    name: "POST /deliveries/:order_id/courier",
    method: "POST",
    path: () => `/deliveries/${open}/courier`,
    body: { courier_id: 2 },
    invalid: [{ body: {} }, { body: { courier_id: "two" } }, { path: () => "/deliveries/0/courier" }],
  },
];

describeAdminOnlyRoutes(service, ADMIN_ROUTES);

test("an admin's assign goes through (the matrix above refused everyone else)", async () => {
  const res = await send(service, ADMIN_ROUTES[3]!, await f.issuer.auth(6, "admin"));
  expect(res.status).toBe(200);
  expect(f.wakes()).toBe(1);
});

const COURIER_ROUTES: AuthRoute[] = [
  { name: "GET /couriers/me/deliveries", method: "GET", path: () => "/couriers/me/deliveries", invalid: [{ path: () => "/couriers/me/deliveries?limit=0" }] },
  { name: "POST /couriers/me/deliveries/:order_id/done", method: "POST", path: () => `/couriers/me/deliveries/${assigned}/done`, invalid: [{ path: () => "/couriers/me/deliveries/x/done" }] },
];

const NOT_COURIERS: [string, string | number, Role][] = [
  ["a customer's token", 42, "customer"],
  ["an admin's token", 6, "admin"],
  ["a service's token", "orders", "service"],
  // Role courier, but user 9 is no courier of this service.
  ["a courier token of a user who is no courier", 9, "courier"],
];

for (const route of COURIER_ROUTES) {
  describe(`${route.name} is for couriers only`, () => {
    for (const [who, sub, role] of NOT_COURIERS) {
      test(`${who}: 403 FORBIDDEN, nothing read or changed, also with invalid input`, async () => {
        for (const r of [route, ...(route.invalid ?? []).map((input) => ({ ...route, ...input }))]) {
          const before = await service.snapshot();
          const res = await send(service, r, await f.issuer.auth(sub, role));
          expect(res.status, `${who} on ${r.path()}`).toBe(403);
          expect(res.body.error.code).toBe("FORBIDDEN");
          expect(JSON.stringify(res.body)).not.toContain("Ada Lovelace");
          expect(await service.snapshot()).toEqual(before);
        }
        expect(await f.outbox()).toEqual([]);
        expect(f.wakes()).toBe(0);
      });
    }

    test("no token, a stranger's token, an expired one: 401 with a Bearer challenge", async () => {
      const headers = [
        {},
        await stranger.auth(COURIER_ONE.user_id, "courier"),
        { authorization: `Bearer ${await f.issuer.token(COURIER_ONE.user_id, "courier", -60)}` },
      ];
      for (const h of headers) {
        const res = await send(service, route, h);
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe("UNAUTHENTICATED");
        expect(res.challenge).toStartWith("Bearer");
      }
      expect(await f.outbox()).toEqual([]);
    });
  });
}

test("courier 1 is let through both courier routes", async () => {
  const headers = await f.issuer.auth(COURIER_ONE.user_id, "courier");
  expect((await send(service, COURIER_ROUTES[0]!, headers)).status).toBe(200);
  expect((await send(service, COURIER_ROUTES[1]!, headers)).status).toBe(200);
});
