// Who may see and touch whose favorites (no BOLA): every /users/:id/favorites route answers a customer's token
// only for the customer's own id; another user's is 403 before anything is read or written. Admins and
// services may act for any user. Who favorited a product (/products/:id/favorited-by) is private: services
// (the notifications worker) and admins only. No token, or a token that does not verify, is 401.
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
  db = await createTestDatabase("favorites_auth");
  await migrate(db.sql, fileURLToPath(new URL("../db/migrations", import.meta.url)));
  [issuer, stranger] = await Promise.all([createTestIssuer(), createTestIssuer()]);
  app = createApp({ sql: db.sql, verifier: issuer.verifier });
});
afterAll(() => db?.drop());

/** The seed gives both users favorites, so a change let through to the victim's would show. */
const ATTACKER = 3;
const VICTIM = 1;

type Route = { name: string; method: string; path: (userId: number) => string; body?: unknown; invalidBody?: unknown; ok: number[] };
/** Every user-scoped route, each with a request that changes the victim's favorites when it is let through. */
const ROUTES: Route[] = [
  { name: "GET /users/:id/favorites", method: "GET", path: (u) => `/users/${u}/favorites`, ok: [200] },
  {
    name: "POST /users/:id/favorites",
    method: "POST",
    path: (u) => `/users/${u}/favorites`,
    body: { product_id: 7 },
    invalidBody: { product_id: "seven" },
    // 201 the first time it is added, 200 when it was already there.
    ok: [200, 201],
  },
  { name: "DELETE /users/:id/favorites/:product_id", method: "DELETE", path: (u) => `/users/${u}/favorites/1`, ok: [204] },
];

const send = async (route: Route, userId: number, headers: Record<string, string>, body = route.body) => {
  const init: RequestInit = { method: route.method, headers };
  if (body !== undefined) init.headers = { ...headers, "content-type": "application/json" };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await app.request(route.path(userId), init);
  const text = await res.text();
  return { status: res.status, challenge: res.headers.get("www-authenticate"), body: text ? (JSON.parse(text) as any) : null };
};

/** Every favorite of every user: what a refused request must leave as it was. */
const snapshot = async () => ({
  favorites: [...(await db.sql`select * from user_favorite order by user_id, product_id`)],
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
    expect((await send(route, VICTIM, await token(VICTIM))).status).toBeOneOf(route.ok);
  });

  test("an admin's token: allowed for any user", async () => {
    expect((await send(route, VICTIM, await token(99, "admin"))).status).toBeOneOf(route.ok);
  });

  test("a service's token: allowed for any user", async () => {
    expect((await send(route, VICTIM, await token("notifications", "service"))).status).toBeOneOf(route.ok);
  });
});

test("what an allowed caller gets is the path's user's favorites, whoever asks", async () => {
  const mine = await send(ROUTES[0]!, VICTIM, await token(VICTIM));
  expect((await send(ROUTES[0]!, VICTIM, await token("notifications", "service"))).body).toEqual(mine.body);
  expect((await send(ROUTES[0]!, VICTIM, await token(99, "admin"))).body).toEqual(mine.body);
  const rows = await db.sql`select product_id from user_favorite where user_id = ${VICTIM} order by product_id`;
  expect(mine.body).toEqual([...rows]);
});

describe("GET /products/:id/favorited-by is for services and admins", () => {
  const favoritedBy = async (headers: Record<string, string>, query = "") => {
    const res = await app.request(`/products/1/favorited-by${query}`, { headers });
    return { status: res.status, challenge: res.headers.get("www-authenticate"), body: (await res.json()) as any };
  };

  test.each([
    ["a customer, even one who favorited the product", VICTIM, "customer"],
    ["a courier", 8, "courier"],
  ] as [string, number, Role][])("%s: 403 FORBIDDEN, and not one user id in the answer", async (_, sub, role) => {
    const res = await favoritedBy(await token(sub, role));
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("FORBIDDEN");
    expect(JSON.stringify(res.body)).not.toContain("user_id");
  });

  test("a customer learns nothing from validation: a bad query is still 403, not 400", async () => {
    expect((await favoritedBy(await token(ATTACKER), "?limit=0")).status).toBe(403);
  });

  test("no token: 401 with a Bearer challenge; a service token from another issuer: 401", async () => {
    const anonymous = await favoritedBy({});
    expect(anonymous.status).toBe(401);
    expect(anonymous.challenge).toStartWith("Bearer");
    const foreign = await favoritedBy(await stranger.auth("notifications", "service"));
    expect(foreign.status).toBe(401);
    expect(foreign.challenge).toStartWith("Bearer");
  });

  test("a service: 200 with the users", async () => {
    const res = await favoritedBy(await token("notifications", "service"));
    expect(res.status).toBe(200);
    expect(res.body.map((r: { user_id: number }) => r.user_id)).toContain(ATTACKER);
  });

  test("an admin: 200", async () => {
    expect((await favoritedBy(await token(99, "admin"))).status).toBe(200);
  });
});
