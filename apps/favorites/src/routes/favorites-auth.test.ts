// Who may see and touch whose favorites (no BOLA): every /users/:id/favorites route answers a customer's token
// only for the customer's own id; another user's is 403 before anything is read or written. Admins and
// services may act for any user. Who favorited a product (/products/:id/favorited-by) is private: services
// (the notifications worker) and admins only. No token, or a token that does not verify, is 401.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import type { Role } from "@storefront/shared/auth/identity";
import { migrate } from "@storefront/shared/db/migrate";
import { describeUserScopedRoutes } from "@storefront/shared/testing/auth-matrix";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp } from "../app.ts";

/** `stranger` signs with a key the app does not trust: a token from somewhere else. */
const [issuer, stranger] = await Promise.all([createTestIssuer(), createTestIssuer()]);
let db: TestDatabase;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  db = await createTestDatabase("favorites_auth");
  await migrate(db.sql, fileURLToPath(new URL("../db/migrations", import.meta.url)));
  app = createApp({ sql: db.sql, verifier: issuer.verifier });
});
afterAll(() => db?.drop());

/** The seed gives both users favorites, so a change let through to the victim's would show. */
const ATTACKER = 3;
const VICTIM = 1;

describeUserScopedRoutes(
  {
    request: (path, init) => app.request(path, init),
    issuer,
    stranger,
    /** Every favorite of every user: what a refused request must leave as it was. */
    snapshot: async () => ({ favorites: [...(await db.sql`select * from user_favorite order by user_id, product_id`)] }),
  },
  {
    attacker: ATTACKER,
    victim: VICTIM,
    // A refusal must not show a single one of the victim's favorites.
    secret: '"product_id"',
    // Every user-scoped route, each with a request that changes the victim's favorites when it is let through.
    routes: [
      {
        name: "GET /users/:id/favorites",
        method: "GET",
        path: () => `/users/${VICTIM}/favorites`,
        ok: [200],
        answer: async () => [...(await db.sql`select product_id from user_favorite where user_id = ${VICTIM} order by product_id`)],
      },
      {
        name: "POST /users/:id/favorites",
        method: "POST",
        path: () => `/users/${VICTIM}/favorites`,
        body: { product_id: 7 },
        invalid: [{ body: { product_id: "seven" } }],
        // 201 the first time it is added, 200 when it was already there.
        ok: [200, 201],
      },
      { name: "DELETE /users/:id/favorites/:product_id", method: "DELETE", path: () => `/users/${VICTIM}/favorites/1`, ok: [204] },
    ],
  },
);

describe("GET /products/:id/favorited-by is for services and admins", () => {
  const token = (sub: string | number, role: Role = "customer") => issuer.auth(sub, role);
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
