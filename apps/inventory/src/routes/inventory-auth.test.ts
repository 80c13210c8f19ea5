// Who may do what to stock levels: reading is public; PUT /products/:id/inventory is for admins only, checked
// before the body is read, so a refused change leaves the stock as it was and writes no stock.back_in_stock.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
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
let wakes = 0;

beforeAll(async () => {
  db = await createTestDatabase("inventory_auth");
  await migrate(db.sql, fileURLToPath(new URL("../db/migrations", import.meta.url)));
  [issuer, stranger] = await Promise.all([createTestIssuer(), createTestIssuer()]);
  app = createApp({ sql: db.sql, verifier: issuer.verifier, outbox: { wake: () => void wakes++ } });
}, 60_000);
afterAll(() => db?.drop());
beforeEach(async () => {
  await db.sql`delete from outbox`;
  wakes = 0;
});

/** Product 6 is seeded out of stock: a restock let through would change its row and write an event. */
const OUT_OF_STOCK = 6;
const RESTOCK = { inventory: 5 };

const put = async (headers: Record<string, string>, body: unknown = RESTOCK) => {
  const res = await app.request(`/products/${OUT_OF_STOCK}/inventory`, {
    method: "PUT",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, challenge: res.headers.get("www-authenticate"), body: (await res.json()) as any };
};

/** Every stock row and every outbox row: what a refused request must leave as it was. */
const snapshot = async () => ({
  stock: [...(await db.sql`select * from stock order by product_id`)],
  outbox: [...(await db.sql`select * from outbox order by created_at, id`)],
});

/** Runs `request` and checks it changed nothing at all, nor woke the relay. */
async function expectNothingChanged<T>(request: () => Promise<T>): Promise<T> {
  const before = await snapshot();
  const result = await request();
  expect(await snapshot()).toEqual(before);
  expect(before.outbox).toEqual([]);
  expect(wakes).toBe(0);
  return result;
}

describe("reading stock is public", () => {
  test("GET /products/:id/inventory and /inventory?ids= answer without a token", async () => {
    expect((await app.request("/products/1/inventory")).status).toBe(200);
    expect((await app.request("/inventory?ids=1,2")).status).toBe(200);
  });

  test.each(["customer", "courier", "service", "admin"] as Role[])("and with a %s token", async (role) => {
    const headers = await issuer.auth(role === "service" ? "bff" : 5, role);
    expect((await app.request("/inventory?ids=1", { headers })).status).toBe(200);
  });

  test("a token that does not verify is a 401 even on a public read: its holder should learn it", async () => {
    const res = await app.request("/products/1/inventory", { headers: await stranger.auth(5) });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toStartWith("Bearer");
  });
});

describe("PUT /products/:id/inventory is for admins only", () => {
  test.each([
    ["a customer", "customer", "7"],
    ["a courier", "courier", "8"],
    ["a service", "service", "notifications"],
  ] as [string, Role, string][])("%s: 403 FORBIDDEN, the stock unchanged, no event written", async (_, role, sub) => {
    const headers = await issuer.auth(sub, role);
    const res = await expectNothingChanged(() => put(headers));
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("FORBIDDEN");
  });

  test("a customer learns nothing from validation: a malformed body is still 403, not 400", async () => {
    const headers = await issuer.auth(7);
    for (const body of [{}, { inventory: -1 }, { inventory: 5, note: "x" }]) {
      const res = await expectNothingChanged(() => put(headers, body));
      expect(res.status).toBe(403);
    }
  });

  test("no token: 401 UNAUTHENTICATED with a Bearer challenge, nothing changed", async () => {
    const res = await expectNothingChanged(() => put({}));
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("UNAUTHENTICATED");
    expect(res.challenge).toStartWith("Bearer");
  });

  test("an admin token from another issuer: 401, nothing changed", async () => {
    const res = await expectNothingChanged(async () => put(await stranger.auth(1, "admin")));
    expect(res.status).toBe(401);
    expect(res.challenge).toStartWith("Bearer");
  });

  test("an expired admin token, or a header that is not a Bearer token: 401, nothing changed", async () => {
    const expired = await issuer.token(1, "admin", -60);
    for (const authorization of [`Bearer ${expired}`, `Basic ${btoa("admin:admin")}`, "Bearer not-a-jwt"]) {
      const res = await expectNothingChanged(() => put({ authorization }));
      expect(res.status).toBe(401);
      expect(res.challenge).toStartWith("Bearer");
    }
  });

  test("an admin: 200, the stock set and stock.back_in_stock written", async () => {
    const res = await put(await issuer.auth(1, "admin"));
    expect(res).toMatchObject({ status: 200, body: { product_id: OUT_OF_STOCK, inventory: 5 } });
    expect((await snapshot()).outbox.map((e) => e.type)).toEqual(["stock.back_in_stock"]);
    expect(wakes).toBe(1);
  });
});
