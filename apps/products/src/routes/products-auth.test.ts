// Who may do what to the catalogue: reading is public; PATCH /products/:id is for admins only, checked before
// the body is read, so a refused edit changes no row and writes no price.dropped event.
import { afterAll, beforeAll, beforeEach, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { migrate } from "@storefront/shared/db/migrate";
import { describeAdminOnlyRoutes, describePublicReads, send, type AppUnderTest, type AuthRoute } from "@storefront/shared/testing/auth-matrix";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp } from "../app.ts";

const [issuer, stranger] = await Promise.all([createTestIssuer(), createTestIssuer()]);
let db: TestDatabase;
let app: ReturnType<typeof createApp>;
let wakes = 0;

beforeAll(async () => {
  db = await createTestDatabase("products_auth");
  await migrate(db.sql, fileURLToPath(new URL("../db/migrations", import.meta.url)));
  app = createApp({ sql: db.sql, verifier: issuer.verifier, outbox: { wake: () => void wakes++ } });
});
afterAll(() => db?.drop());
beforeEach(async () => {
  await db.sql`delete from outbox`;
  wakes = 0;
});

/** A price drop: were it let through, it would change the row and write an event. */
const DROP: AuthRoute = {
  name: "PATCH /products/:id",
  method: "PATCH",
  path: () => "/products/1",
  body: { price_cents: 1 },
  invalid: [{ body: {} }, { body: { price_cents: -1 } }, { body: { sku: "X" } }],
};

const eventTypes = async () => (await db.sql<{ type: string }[]>`select type from outbox order by created_at, type`).map((e) => e.type);

const catalogue: AppUnderTest = {
  request: (path, init) => app.request(path, init),
  issuer,
  stranger,
  /** Every product row: what a refused request must leave as it was. */
  snapshot: async () => [...(await db.sql`select * from product order by product_id`)],
  outbox: { events: eventTypes, wakes: () => wakes },
};

describePublicReads(catalogue, "reading the catalogue is public", ["/products?limit=2", "/products/1"]);
describeAdminOnlyRoutes(catalogue, [DROP]);

test("an admin's price drop: 200, the product changed, product.changed and price.dropped written", async () => {
  const res = await send(catalogue, DROP, await issuer.auth(1, "admin"));
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ product_id: 1, price_cents: 1 });
  expect(await eventTypes()).toEqual(["price.dropped", "product.changed"]);
  expect(wakes).toBe(1);
});
