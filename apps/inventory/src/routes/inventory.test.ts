import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp } from "../app.ts";

let db: TestDatabase;
let app: ReturnType<typeof createApp>;
/** Setting stock is for admins; who else may not is inventory-auth.test.ts. */
let asAdmin: Record<string, string>;
const migrations = fileURLToPath(new URL("../db/migrations", import.meta.url));

// Own timeout: the embedded fallback's first start can outlast bun's 5 s hook default
// (bun 1.4.4 ignores bunfig's [test] timeout; only --timeout or a per-hook value applies).
beforeAll(async () => {
  db = await createTestDatabase("inventory");
  await migrate(db.sql, migrations);
  const issuer = await createTestIssuer();
  asAdmin = await issuer.auth(900, "admin");
  app = createApp({ sql: db.sql, verifier: issuer.verifier });
}, 60_000);
afterAll(() => db?.drop());

const get = async (path: string) => {
  const res = await app.request(path);
  return { status: res.status, body: (await res.json()) as any };
};

const put = async (path: string, body: string, contentType = "application/json") => {
  const res = await app.request(path, { method: "PUT", headers: { ...asAdmin, "content-type": contentType }, body });
  return { status: res.status, body: (await res.json()) as any };
};

const stockOf = async (productId: number) => {
  const rows = await db.sql<{ inventory: number }[]>`select inventory from stock where product_id = ${productId}`;
  return rows[0]?.inventory ?? null;
};

const expectBadRequest = ({ status, body }: { status: number; body: any }) => {
  expect(status).toBe(400);
  expect(body.error.code).toBe("BAD_REQUEST");
  expect(typeof body.error.message).toBe("string");
  expect(JSON.stringify(body)).not.toContain("    at ");
};

describe("GET /products/:id/inventory", () => {
  test("returns the seeded stock", async () => {
    expect(await get("/products/1/inventory")).toEqual({ status: 200, body: { product_id: 1, inventory: 42, on_hand: 42, reserved: 0 } });
  });

  test("the seed has an out-of-stock product", async () => {
    expect((await get("/products/6/inventory")).body).toEqual({ product_id: 6, inventory: 0, on_hand: 0, reserved: 0 });
  });

  test("404 in the envelope when the product has no stock row", async () => {
    expect(await get("/products/99999/inventory")).toEqual({
      status: 404,
      body: { error: { code: "NOT_FOUND", message: "no stock for product 99999" } },
    });
  });

  test.each(["0", "-3", "abc", "1.5", "01", "99999999999"])("400 for id %s", async (id) => {
    expectBadRequest(await get(`/products/${id}/inventory`));
  });
});

describe("GET /inventory?ids=", () => {
  test("returns the rows in the order asked, skipping ids without stock", async () => {
    const { status, body } = await get("/inventory?ids=3,99999,1,6");
    expect(status).toBe(200);
    expect(body).toEqual([
      { product_id: 3, inventory: 8 },
      { product_id: 1, inventory: 42 },
      { product_id: 6, inventory: 0 },
    ]);
  });

  test("collapses duplicates, keeping the first position", async () => {
    const { body } = await get("/inventory?ids=2,1,2,1");
    expect(body.map((r: any) => r.product_id)).toEqual([2, 1]);
  });

  test("[] when none of the ids has stock", async () => {
    expect(await get("/inventory?ids=99998,99999")).toEqual({ status: 200, body: [] });
  });

  test("accepts exactly 100 ids", async () => {
    const ids = Array.from({ length: 100 }, (_, i) => i + 1);
    const { status, body } = await get(`/inventory?ids=${ids.join(",")}`);
    expect(status).toBe(200);
    expect(body.map((r: any) => r.product_id)).toEqual(ids.slice(0, 12));
  });

  const ids101 = Array.from({ length: 101 }, (_, i) => i + 1).join(",");
  test.each([
    ["empty ids", "?ids="],
    ["101 ids", `?ids=${ids101}`],
    ["a non-integer id", "?ids=1,x"],
    ["a zero id", "?ids=0"],
    ["a negative id", "?ids=1,-2"],
    ["a decimal id", "?ids=1.5"],
    ["an empty element", "?ids=1,,2"],
    ["an id above int4", "?ids=2147483648"],
    ["ids given twice", "?ids=1&ids=2"],
    ["an unknown parameter", "?ids=1&sort=asc"],
    ["missing ids", ""],
  ])("400 for %s", async (_, qs) => {
    expectBadRequest(await get(`/inventory${qs}`));
  });
});

describe("PUT /products/:id/inventory", () => {
  test("sets the stock and a GET then reads it back", async () => {
    expect(await put("/products/2/inventory", JSON.stringify({ inventory: 7 }))).toEqual({ status: 200, body: { product_id: 2, inventory: 7, on_hand: 7, reserved: 0 } });
    expect((await get("/products/2/inventory")).body).toEqual({ product_id: 2, inventory: 7, on_hand: 7, reserved: 0 });
    expect((await get("/inventory?ids=2")).body).toEqual([{ product_id: 2, inventory: 7 }]);
  });

  test("creates the row for a product that had none (upsert)", async () => {
    expect((await get("/products/500/inventory")).status).toBe(404);
    expect(await put("/products/500/inventory", JSON.stringify({ inventory: 0 }))).toEqual({ status: 200, body: { product_id: 500, inventory: 0, on_hand: 0, reserved: 0 } });
    expect((await get("/products/500/inventory")).body).toEqual({ product_id: 500, inventory: 0, on_hand: 0, reserved: 0 });
  });

  test("moves updated_at forward", async () => {
    await db.sql`update stock set updated_at = now() - interval '1 day' where product_id = 4`;
    await put("/products/4/inventory", JSON.stringify({ inventory: 251 }));
    const [row] = await db.sql<{ fresh: boolean }[]>`select updated_at > now() - interval '1 hour' as fresh from stock where product_id = 4`;
    expect(row?.fresh).toBe(true);
  });

  test.each([
    ["a negative number", JSON.stringify({ inventory: -1 })],
    ["a decimal", JSON.stringify({ inventory: 1.5 })],
    ["a string", JSON.stringify({ inventory: "5" })],
    ["null", JSON.stringify({ inventory: null })],
    ["a number above int4", JSON.stringify({ inventory: 2_147_483_648 })],
    ["an extra field", JSON.stringify({ inventory: 5, note: "x" })],
    ["a missing field", JSON.stringify({})],
    ["an array body", JSON.stringify([5])],
    ["malformed JSON", '{"inventory": 5'],
  ])("400 for %s, and nothing is written", async (_, body) => {
    const before = await stockOf(1);
    expectBadRequest(await put("/products/1/inventory", body));
    expect(await stockOf(1)).toBe(before);
  });

  test("400 for a body that is not declared as JSON, nothing written", async () => {
    const before = await stockOf(1);
    expectBadRequest(await put("/products/1/inventory", JSON.stringify({ inventory: 5 }), "text/plain"));
    expect(await stockOf(1)).toBe(before);
  });

  test.each(["0", "-1", "abc", "1.5", "01", "99999999999"])("400 for id %s, and no row is created", async (id) => {
    const [before] = await db.sql<{ count: number }[]>`select count(*)::int as count from stock`;
    expectBadRequest(await put(`/products/${id}/inventory`, JSON.stringify({ inventory: 5 })));
    const [after] = await db.sql<{ count: number }[]>`select count(*)::int as count from stock`;
    expect(after?.count).toBe(before!.count);
  });
});

describe("health, readiness, unknown routes, migrations", () => {
  test("/health and /ready answer", async () => {
    expect(await get("/health")).toEqual({ status: 200, body: { status: "ok", service: "inventory" } });
    expect((await get("/ready")).status).toBe(200);
  });

  test("unknown route is 404 in the envelope", async () => {
    const { status, body } = await get("/products/1");
    expect(status).toBe(404);
    expect(body.error.code).toBe("NOT_FOUND");
  });

  test("migrations are safe to run twice", async () => {
    expect(await migrate(db.sql, migrations)).toEqual([]);
  });

  test("the table refuses negative stock even without the API", async () => {
    await expect(db.sql`update stock set inventory = -1 where product_id = 1`).rejects.toThrow();
  });
});
