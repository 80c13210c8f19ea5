import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp } from "../app.ts";

let db: TestDatabase;
let app: ReturnType<typeof createApp>;
const migrations = fileURLToPath(new URL("../db/migrations", import.meta.url));

beforeAll(async () => {
  db = await createTestDatabase("products");
  await migrate(db.sql, migrations);
  app = createApp({ sql: db.sql, verifier: (await createTestIssuer()).verifier });
});
afterAll(() => db.drop());

const get = async (path: string) => {
  const res = await app.request(path);
  return { status: res.status, body: (await res.json()) as any };
};

describe("GET /products", () => {
  test("lists the seeded catalogue ordered by product_id", async () => {
    const { status, body } = await get("/products");
    expect(status).toBe(200);
    expect(body.length).toBeGreaterThanOrEqual(10);
    const ids = body.map((p: any) => p.product_id);
    expect(ids).toEqual([...ids].sort((a: number, b: number) => a - b));
    expect(body[0]).toMatchObject({ product_id: 1, product_name: expect.any(String), sku: expect.any(String), price_cents: expect.any(Number) });
  });

  test("pages with limit and after (keyset)", async () => {
    const first = await get("/products?limit=3");
    expect(first.body.map((p: any) => p.product_id)).toEqual([1, 2, 3]);
    const next = await get("/products?limit=3&after=3");
    expect(next.body.map((p: any) => p.product_id)).toEqual([4, 5, 6]);
    const past = await get("/products?after=100000");
    expect(past.body).toEqual([]);
  });

  test("?ids= gives those products that exist, by product_id, each once", async () => {
    const { status, body } = await get("/products?ids=5,2,99999,2");
    expect(status).toBe(200);
    expect(body.map((p: any) => p.product_id)).toEqual([2, 5]);
    expect(body[0]).toMatchObject({ product_id: 2, price_cents: expect.any(Number) });
  });

  test.each(["limit=0", "limit=101", "limit=abc", "limit=-1", "after=-1", "after=1.5", "sort=name", "ids=", "ids=1,x", "ids=0", "ids=1&after=3", "ids=1&limit=2", `ids=${Array.from({ length: 101 }, (_, i) => i + 1).join(",")}`])("rejects ?%s with 400 in the envelope", async (qs) => {
    const { status, body } = await get(`/products?${qs}`);
    expect(status).toBe(400);
    expect(body.error.code).toBe("BAD_REQUEST");
    expect(JSON.stringify(body)).not.toContain("    at ");
  });
});

describe("GET /products/:id", () => {
  test("returns one product", async () => {
    const { status, body } = await get("/products/2");
    expect(status).toBe(200);
    expect(body).toMatchObject({ product_id: 2, product_name: expect.any(String) });
  });

  test("404 in the envelope when missing", async () => {
    const { status, body } = await get("/products/99999");
    expect(status).toBe(404);
    expect(body).toEqual({ error: { code: "NOT_FOUND", message: "product 99999 not found" } });
  });

  test.each(["0", "-3", "abc", "1.5", "01", "99999999999"])("400 for id %s", async (id) => {
    const { status, body } = await get(`/products/${id}`);
    expect(status).toBe(400);
    expect(body.error.code).toBe("BAD_REQUEST");
  });
});

describe("health, readiness, unknown routes", () => {
  test("/health and /ready answer", async () => {
    expect((await get("/health")).body).toEqual({ status: "ok", service: "products" });
    expect((await get("/ready")).status).toBe(200);
  });

  test("unknown route is 404 in the envelope", async () => {
    const { status, body } = await get("/nope");
    expect(status).toBe(404);
    expect(body.error.code).toBe("NOT_FOUND");
  });

  test("migrations are safe to run twice", async () => {
    expect(await migrate(db.sql, migrations)).toEqual([]);
    const [row] = await db.sql`select count(*)::int as count from product`;
    expect(row?.count).toBe(12);
  });
});
