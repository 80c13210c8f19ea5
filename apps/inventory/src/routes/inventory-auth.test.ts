// Who may do what to stock levels: reading is public; PUT /products/:id/inventory is for admins only, checked
// before the body is read, so a refused change leaves the stock as it was and writes no stock.back_in_stock.
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
  db = await createTestDatabase("inventory_auth");
  await migrate(db.sql, fileURLToPath(new URL("../db/migrations", import.meta.url)));
  app = createApp({ sql: db.sql, verifier: issuer.verifier, outbox: { wake: () => void wakes++ } });
}, 60_000);
afterAll(() => db?.drop());
beforeEach(async () => {
  await db.sql`delete from outbox`;
  wakes = 0;
});

/** Product 6 is seeded out of stock: a restock let through would change its row and write an event. */
const OUT_OF_STOCK = 6;
const RESTOCK: AuthRoute = {
  name: "PUT /products/:id/inventory",
  method: "PUT",
  path: () => `/products/${OUT_OF_STOCK}/inventory`,
  body: { inventory: 5 },
  invalid: [{ body: {} }, { body: { inventory: -1 } }, { body: { inventory: 5, note: "x" } }],
};

const eventTypes = async () => (await db.sql<{ type: string }[]>`select type from outbox order by created_at, id`).map((e) => e.type);

const inventory: AppUnderTest = {
  request: (path, init) => app.request(path, init),
  issuer,
  stranger,
  /** Every stock row: what a refused request must leave as it was. */
  snapshot: async () => [...(await db.sql`select * from stock order by product_id`)],
  outbox: { events: eventTypes, wakes: () => wakes },
};

describePublicReads(inventory, "reading stock is public", ["/products/1/inventory", "/inventory?ids=1,2"]);
describeAdminOnlyRoutes(inventory, [RESTOCK]);

test("an admin's restock: 200, the stock set and stock.back_in_stock written", async () => {
  const res = await send(inventory, RESTOCK, await issuer.auth(1, "admin"));
  expect(res).toMatchObject({ status: 200, body: { product_id: OUT_OF_STOCK, inventory: 5 } });
  expect(await eventTypes()).toEqual(["stock.back_in_stock"]);
  expect(wakes).toBe(1);
});
