import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestIssuer, type TestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp } from "../app.ts";

let db: TestDatabase;
let app: ReturnType<typeof createApp>;
let issuer: TestIssuer;
/** The worker's view: who favorited a product is for services and admins (favorites-auth.test.ts). */
let asService: Record<string, string>;
const migrations = fileURLToPath(new URL("../db/migrations", import.meta.url));

// Product 50 is favorited by users 2, 4, ..., 2400 (1,200 users), inserted in reverse so order comes from the query.
const MANY = 50;
const manyUsers = Array.from({ length: 1200 }, (_, i) => 2 * (i + 1));

beforeAll(async () => {
  db = await createTestDatabase("favorited_by");
  await migrate(db.sql, migrations);
  await db.sql`insert into user_favorite (user_id, product_id) select u, ${MANY} from unnest(${[...manyUsers].reverse()}::int[]) as u`;
  issuer = await createTestIssuer();
  asService = await issuer.auth("notifications", "service");
  app = createApp({ sql: db.sql, verifier: issuer.verifier });
});
afterAll(() => db.drop());

const get = async (path: string) => {
  const res = await app.request(path, { headers: asService });
  return { status: res.status, body: (await res.json()) as any };
};
const ids = (body: { user_id: number }[]) => body.map((r) => r.user_id);

describe("GET /products/:id/favorited-by", () => {
  test("lists the seeded users of product 1 ordered by user_id", async () => {
    expect(await get("/products/1/favorited-by")).toEqual({ status: 200, body: [{ user_id: 1 }, { user_id: 3 }] });
  });

  test("a product nobody favorited (or nobody knows) is []", async () => {
    expect(await get("/products/999/favorited-by")).toEqual({ status: 200, body: [] });
  });

  test("default page is 500; keyset pages with after cover every user once, in order", async () => {
    const first = await get(`/products/${MANY}/favorited-by`);
    expect(ids(first.body)).toEqual(manyUsers.slice(0, 500));
    const seen: number[] = [];
    let after = 0;
    for (;;) {
      const page = await get(`/products/${MANY}/favorited-by?limit=333&after=${after}`);
      expect(page.status).toBe(200);
      if (page.body.length === 0) break;
      seen.push(...ids(page.body));
      after = seen.at(-1)!;
    }
    expect(seen).toEqual(manyUsers);
  });

  test("after need not be a favoriting user; limit 1000 is the largest page", async () => {
    expect(ids((await get(`/products/${MANY}/favorited-by?after=5&limit=3`)).body)).toEqual([6, 8, 10]);
    expect((await get(`/products/${MANY}/favorited-by?limit=1000`)).body).toHaveLength(1000);
    expect((await get(`/products/${MANY}/favorited-by?after=2400`)).body).toEqual([]);
  });

  test("another user's change shows up in the next page (no snapshot across pages)", async () => {
    const asUser7 = await issuer.auth(7);
    await app.request("/users/7/favorites", { method: "POST", headers: { ...asUser7, "content-type": "application/json" }, body: JSON.stringify({ product_id: 2 }) });
    expect(ids((await get("/products/2/favorited-by")).body)).toEqual([1, 3, 7]);
    await app.request("/users/7/favorites/2", { method: "DELETE", headers: asUser7 });
    expect(ids((await get("/products/2/favorited-by")).body)).toEqual([1, 3]);
  });

  test.each([
    "/products/0/favorited-by",
    "/products/abc/favorited-by",
    "/products/01/favorited-by",
    "/products/99999999999/favorited-by",
    "/products/1/favorited-by?limit=0",
    "/products/1/favorited-by?limit=1001",
    "/products/1/favorited-by?limit=abc",
    "/products/1/favorited-by?limit=-1",
    "/products/1/favorited-by?after=-1",
    "/products/1/favorited-by?after=1.5",
    "/products/1/favorited-by?after=",
    "/products/1/favorited-by?cursor=3",
  ])("400 in the envelope for %s", async (path) => {
    const { status, body } = await get(path);
    expect(status).toBe(400);
    expect(body.error.code).toBe("BAD_REQUEST");
    expect(JSON.stringify(body)).not.toContain("    at ");
  });

  test("the (product_id, user_id) index exists", async () => {
    const rows = await db.sql`select indexdef from pg_indexes where tablename = 'user_favorite' and schemaname = current_schema()`;
    expect(rows.map((r) => r.indexdef).some((d: string) => /\(product_id, user_id\)/.test(d))).toBe(true);
  });
});
