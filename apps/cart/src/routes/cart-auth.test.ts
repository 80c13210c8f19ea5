// Who may touch whose cart (no BOLA): every /users/:id/cart route answers a customer's token only for the
// customer's own id; another user's is 403 before anything is read or written. Admins and services (the
// notifications worker, the BFF acting for the system) may act for any user. No token, or a token that does
// not verify, is 401 with a Bearer challenge.
import { afterAll, beforeAll } from "bun:test";
import { fileURLToPath } from "node:url";
import { migrate } from "@storefront/shared/db/migrate";
import { describeUserScopedRoutes } from "@storefront/shared/testing/auth-matrix";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp } from "../app.ts";

const [issuer, stranger] = await Promise.all([createTestIssuer(), createTestIssuer()]);
let db: TestDatabase;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  db = await createTestDatabase("cart_auth");
  await migrate(db.sql, fileURLToPath(new URL("../db/migrations", import.meta.url)));
  app = createApp({ sql: db.sql, verifier: issuer.verifier });
});
afterAll(() => db?.drop());

/** The seed gives both users lines, so a change let through to the victim's cart would show. */
const ATTACKER = 1;
const VICTIM = 2;

describeUserScopedRoutes(
  {
    request: (path, init) => app.request(path, init),
    issuer,
    stranger,
    /** Every cart line and every outbox row: what a refused request must leave as it was. */
    snapshot: async () => ({
      lines: [...(await db.sql`select user_id, product_id, quantity, updated_at from user_cart order by user_id, product_id`)],
      outbox: [...(await db.sql`select id, type, payload from outbox order by created_at, id`)],
    }),
  },
  {
    attacker: ATTACKER,
    victim: VICTIM,
    // A refusal must not show a single line of the victim's cart.
    secret: '"product_id"',
    // Every user-scoped route, each with a request that changes the victim's cart when it is let through.
    routes: [
      {
        name: "GET /users/:id/cart",
        method: "GET",
        path: () => `/users/${VICTIM}/cart`,
        ok: [200],
        answer: async () => [...(await db.sql`select product_id, quantity from user_cart where user_id = ${VICTIM} order by product_id`)],
      },
      {
        name: "POST /users/:id/cart",
        method: "POST",
        path: () => `/users/${VICTIM}/cart`,
        body: { product_id: 4, quantity: 2 },
        invalid: [{ body: { product_id: 0 } }],
        ok: [200],
      },
      {
        name: "PUT /users/:id/cart/:product_id",
        method: "PUT",
        path: () => `/users/${VICTIM}/cart/5`,
        body: { quantity: 3 },
        invalid: [{ body: { quantity: 0 } }],
        ok: [200],
      },
      { name: "DELETE /users/:id/cart/:product_id", method: "DELETE", path: () => `/users/${VICTIM}/cart/1`, ok: [204] },
    ],
  },
);
