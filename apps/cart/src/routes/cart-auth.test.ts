// Who may touch whose cart (no BOLA): every /users/:id/cart route answers a customer's token only for the
// customer's own id; another user's is 403 before anything is read or written. Admins and services (the
// notifications worker, the BFF acting for the system) may act for any user. No token, or a token that does
// not verify, is 401 with a Bearer challenge.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import type { Role } from "@storefront/shared/auth/identity";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestIssuer, type TestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp } from "../app.ts";

let db: TestDatabase;
let app: ReturnType<typeof createApp>;
let issuer: TestIssuer;
/** Signs with a key the app does not trust: a token from somewhere else. */
let stranger: TestIssuer;

beforeAll(async () => {
  db = await createTestDatabase("cart_auth");
  await migrate(db.sql, fileURLToPath(new URL("../db/migrations", import.meta.url)));
  [issuer, stranger] = await Promise.all([createTestIssuer(), createTestIssuer()]);
  app = createApp({ sql: db.sql, verifier: issuer.verifier });
});
afterAll(() => db?.drop());

/** The seed gives both users lines, so a change let through to the victim's cart would show. */
const ATTACKER = 1;
const VICTIM = 2;

type Route = { name: string; method: string; path: (userId: number) => string; body?: unknown; invalidBody?: unknown; ok: number };
/** Every user-scoped route, each with a request that changes the victim's cart when it is let through. */
const ROUTES: Route[] = [
  { name: "GET /users/:id/cart", method: "GET", path: (u) => `/users/${u}/cart`, ok: 200 },
  {
    name: "POST /users/:id/cart",
    method: "POST",
    path: (u) => `/users/${u}/cart`,
    body: { product_id: 4, quantity: 2 },
    invalidBody: { product_id: 0 },
    ok: 200,
  },
  { name: "PUT /users/:id/cart/:product_id", method: "PUT", path: (u) => `/users/${u}/cart/5`, body: { quantity: 3 }, invalidBody: { quantity: 0 }, ok: 200 },
  { name: "DELETE /users/:id/cart/:product_id", method: "DELETE", path: (u) => `/users/${u}/cart/1`, ok: 204 },
];

const send = async (route: Route, userId: number, headers: Record<string, string>, body = route.body) => {
  const init: RequestInit = { method: route.method, headers };
  if (body !== undefined) init.headers = { ...headers, "content-type": "application/json" };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await app.request(route.path(userId), init);
  const text = await res.text();
  return { status: res.status, challenge: res.headers.get("www-authenticate"), body: text ? (JSON.parse(text) as any) : null };
};

/** Every cart line and every outbox row: what a refused request must leave as it was. */
const snapshot = async () => ({
  lines: [...(await db.sql`select user_id, product_id, quantity, updated_at from user_cart order by user_id, product_id`)],
  outbox: [...(await db.sql`select id, type, payload from outbox order by created_at, id`)],
});

async function expectNothingChanged<T>(request: () => Promise<T>): Promise<T> {
  const before = await snapshot();
  const result = await request();
  expect(await snapshot()).toEqual(before);
  return result;
}

const token = (sub: string | number, role: Role = "customer") => issuer.auth(sub, role);

describe.each(ROUTES.map((route) => [route.name, route] as const))("%s", (_, route) => {
  test("another customer's token: 403 FORBIDDEN, nothing read or changed", async () => {
    const headers = await token(ATTACKER);
    const res = await expectNothingChanged(() => send(route, VICTIM, headers));
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("FORBIDDEN");
    expect(JSON.stringify(res.body)).not.toContain('"product_id"');
  });

  if (route.invalidBody !== undefined) {
    test("another customer's token with an invalid body: still 403, not a validation message", async () => {
      const headers = await token(ATTACKER);
      const res = await expectNothingChanged(() => send(route, VICTIM, headers, route.invalidBody));
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
    });
  }

  test("a courier's token: 403, couriers do not act for other users", async () => {
    const headers = await token(ATTACKER, "courier");
    expect((await expectNothingChanged(() => send(route, VICTIM, headers))).status).toBe(403);
  });

  test("no token: 401 UNAUTHENTICATED with a Bearer challenge, nothing changed", async () => {
    const res = await expectNothingChanged(() => send(route, VICTIM, {}));
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("UNAUTHENTICATED");
    expect(res.challenge).toStartWith("Bearer");
  });

  test("the victim's own token signed by another issuer, or an admin's: 401, nothing changed", async () => {
    for (const headers of [await stranger.auth(VICTIM), await stranger.auth(1, "admin")]) {
      const res = await expectNothingChanged(() => send(route, VICTIM, headers));
      expect(res.status).toBe(401);
      expect(res.challenge).toStartWith("Bearer");
    }
  });

  test("the victim's own token once expired: 401, nothing changed", async () => {
    const headers = { authorization: `Bearer ${await issuer.token(VICTIM, "customer", -60)}` };
    expect((await expectNothingChanged(() => send(route, VICTIM, headers))).status).toBe(401);
  });

  test("the customer's own token: allowed", async () => {
    expect((await send(route, VICTIM, await token(VICTIM))).status).toBe(route.ok);
  });

  test("an admin's token: allowed for any user", async () => {
    expect((await send(route, VICTIM, await token(99, "admin"))).status).toBe(route.ok);
  });

  test("a service's token: allowed for any user", async () => {
    expect((await send(route, VICTIM, await token("notifications", "service"))).status).toBe(route.ok);
  });
});

test("what an allowed caller gets is the path's user's cart, whoever asks", async () => {
  const mine = await send(ROUTES[0]!, VICTIM, await token(VICTIM));
  expect((await send(ROUTES[0]!, VICTIM, await token("notifications", "service"))).body).toEqual(mine.body);
  expect((await send(ROUTES[0]!, VICTIM, await token(99, "admin"))).body).toEqual(mine.body);
  const lines = await db.sql`select product_id, quantity from user_cart where user_id = ${VICTIM} order by product_id`;
  expect(mine.body).toEqual([...lines]);
});
