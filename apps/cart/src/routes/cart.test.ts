import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp } from "../app.ts";

let db: TestDatabase;
let app: ReturnType<typeof createApp>;
/** These tests are about what the routes do, so they act as an admin (any user's cart); cart-auth.test.ts is about who may. */
let asAdmin: Record<string, string>;
const migrations = fileURLToPath(new URL("../db/migrations", import.meta.url));

beforeAll(async () => {
  db = await createTestDatabase("cart");
  await migrate(db.sql, migrations);
  const issuer = await createTestIssuer();
  asAdmin = await issuer.auth(900, "admin");
  app = createApp({ sql: db.sql, verifier: issuer.verifier });
});
afterAll(() => db.drop());

/** `body` is sent as JSON; a string is sent as-is with a JSON content type (for malformed bodies). */
const call = async (method: string, path: string, body?: unknown) => {
  const init: RequestInit = { method, headers: asAdmin };
  if (body !== undefined) {
    init.headers = { ...asAdmin, "content-type": "application/json" };
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  const res = await app.request(path, init);
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as any) : null };
};

const allRows = () => db.sql`select user_id, product_id, quantity, updated_at from user_cart order by user_id, product_id`;

describe("GET /users/:id/cart", () => {
  test("lists the seeded lines ordered by product_id", async () => {
    const { status, body } = await call("GET", "/users/1/cart");
    expect(status).toBe(200);
    expect(body).toEqual([
      { product_id: 1, quantity: 1 },
      { product_id: 2, quantity: 1 },
      { product_id: 3, quantity: 1 },
    ]);
  });

  test("an empty cart is [] rather than 404", async () => {
    expect(await call("GET", "/users/3/cart")).toEqual({ status: 200, body: [] });
  });
});

describe("POST /users/:id/cart", () => {
  test("creates a line with quantity 1 by default, then adds to it", async () => {
    expect(await call("POST", "/users/10/cart", { product_id: 4 })).toEqual({ status: 200, body: { product_id: 4, quantity: 1 } });
    expect(await call("POST", "/users/10/cart", { product_id: 4, quantity: 5 })).toEqual({ status: 200, body: { product_id: 4, quantity: 6 } });
    expect(await call("POST", "/users/10/cart", { product_id: 4 })).toEqual({ status: 200, body: { product_id: 4, quantity: 7 } });
    expect((await call("GET", "/users/10/cart")).body).toEqual([{ product_id: 4, quantity: 7 }]);
  });

  test("adds to a seeded line without touching the user's other lines", async () => {
    expect(await call("POST", "/users/2/cart", { product_id: 5, quantity: 2 })).toEqual({ status: 200, body: { product_id: 5, quantity: 3 } });
    expect((await call("GET", "/users/2/cart")).body).toEqual([
      { product_id: 1, quantity: 1 },
      { product_id: 2, quantity: 1 },
      { product_id: 5, quantity: 3 },
    ]);
  });

  test("reaching exactly 999 is allowed; one more is 409 CONFLICT and changes nothing", async () => {
    expect((await call("POST", "/users/11/cart", { product_id: 1, quantity: 998 })).body).toEqual({ product_id: 1, quantity: 998 });
    expect((await call("POST", "/users/11/cart", { product_id: 1 })).body).toEqual({ product_id: 1, quantity: 999 });
    const before = await allRows();
    const over = await call("POST", "/users/11/cart", { product_id: 1 });
    expect(over.status).toBe(409);
    expect(over.body.error.code).toBe("CONFLICT");
    expect(await allRows()).toEqual(before);
  });

  test("a large add onto an existing line is 409 when the total passes 999", async () => {
    await call("PUT", "/users/12/cart/2", { quantity: 500 });
    const before = await allRows();
    const over = await call("POST", "/users/12/cart", { product_id: 2, quantity: 500 });
    expect(over.status).toBe(409);
    expect(over.body.error.code).toBe("CONFLICT");
    expect(await allRows()).toEqual(before);
    expect((await call("GET", "/users/12/cart")).body).toEqual([{ product_id: 2, quantity: 500 }]);
  });

  // The embedded fallback serves one connection, so only a real server can interleave these statements.
  test.skipIf(!process.env.TEST_DATABASE_URL)("20 concurrent adds of 1 to the same new line end at 20", async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => call("POST", "/users/13/cart", { product_id: 9 })));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    // Each add saw a distinct total, which only holds if no update was lost.
    expect(results.map((r) => r.body.quantity).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect((await call("GET", "/users/13/cart")).body).toEqual([{ product_id: 9, quantity: 20 }]);
  });
});

describe("PUT /users/:id/cart/:product_id", () => {
  test("sets the quantity of an existing line", async () => {
    await call("POST", "/users/14/cart", { product_id: 3, quantity: 4 });
    expect(await call("PUT", "/users/14/cart/3", { quantity: 2 })).toEqual({ status: 200, body: { product_id: 3, quantity: 2 } });
    expect((await call("GET", "/users/14/cart")).body).toEqual([{ product_id: 3, quantity: 2 }]);
  });

  test("creates the line when it is missing, up to 999", async () => {
    expect(await call("PUT", "/users/15/cart/6", { quantity: 999 })).toEqual({ status: 200, body: { product_id: 6, quantity: 999 } });
    expect((await call("GET", "/users/15/cart")).body).toEqual([{ product_id: 6, quantity: 999 }]);
  });
});

describe("DELETE /users/:id/cart/:product_id", () => {
  test("removes a line with 204 and is idempotent", async () => {
    await call("POST", "/users/16/cart", { product_id: 1 });
    await call("POST", "/users/16/cart", { product_id: 2 });
    expect(await call("DELETE", "/users/16/cart/1")).toEqual({ status: 204, body: null });
    expect((await call("GET", "/users/16/cart")).body).toEqual([{ product_id: 2, quantity: 1 }]);
    expect(await call("DELETE", "/users/16/cart/1")).toEqual({ status: 204, body: null });
    expect((await call("GET", "/users/16/cart")).body).toEqual([{ product_id: 2, quantity: 1 }]);
  });

  test("204 for a line that never existed, and nothing else changes", async () => {
    const before = await allRows();
    expect((await call("DELETE", "/users/1/cart/12")).status).toBe(204);
    expect(await allRows()).toEqual(before);
  });
});

describe("bad input is 400 in the envelope and writes nothing", () => {
  type Case = [name: string, method: string, path: string, body: unknown];
  const badIds = ["0", "-1", "abc", "1.5", "01", "99999999999"];
  const badQuantities: [string, unknown][] = [["0", 0], ["1000", 1000], ["1.5", 1.5], ['"2"', "2"], ["-1", -1], ["null", null]];
  const cases: Case[] = [
    ...badIds.map((id): Case => [`GET user ${id}`, "GET", `/users/${id}/cart`, undefined]),
    ...badIds.map((id): Case => [`POST user ${id}`, "POST", `/users/${id}/cart`, { product_id: 4 }]),
    ...badIds.map((id): Case => [`PUT user ${id}`, "PUT", `/users/${id}/cart/4`, { quantity: 2 }]),
    ...badIds.map((id): Case => [`PUT product ${id}`, "PUT", `/users/1/cart/${id}`, { quantity: 2 }]),
    ...badIds.map((id): Case => [`DELETE user ${id}`, "DELETE", `/users/${id}/cart/1`, undefined]),
    ...badIds.map((id): Case => [`DELETE product ${id}`, "DELETE", `/users/1/cart/${id}`, undefined]),
    ...badQuantities.map(([label, quantity]): Case => [`POST quantity ${label}`, "POST", "/users/1/cart", { product_id: 1, quantity }]),
    ...badQuantities.map(([label, quantity]): Case => [`PUT quantity ${label}`, "PUT", "/users/1/cart/1", { quantity }]),
    ["POST product_id 0", "POST", "/users/1/cart", { product_id: 0 }],
    ["POST product_id -1", "POST", "/users/1/cart", { product_id: -1 }],
    ["POST product_id 1.5", "POST", "/users/1/cart", { product_id: 1.5 }],
    ["POST product_id as a string", "POST", "/users/1/cart", { product_id: "1" }],
    ["POST product_id beyond int4", "POST", "/users/1/cart", { product_id: 2_147_483_648 }],
    ["POST missing product_id", "POST", "/users/1/cart", { quantity: 2 }],
    ["POST unknown body field", "POST", "/users/1/cart", { product_id: 1, quantity: 1, price: 0 }],
    ["PUT missing quantity", "PUT", "/users/1/cart/1", {}],
    ["PUT unknown body field", "PUT", "/users/1/cart/1", { quantity: 2, product_id: 1 }],
    ["POST array body", "POST", "/users/1/cart", [{ product_id: 1 }]],
    ["POST malformed JSON", "POST", "/users/1/cart", '{"product_id": 1,'],
    ["PUT malformed JSON", "PUT", "/users/1/cart/1", "quantity=2"],
    ["POST empty body with a JSON content type", "POST", "/users/1/cart", ""],
    ["PUT empty body with a JSON content type", "PUT", "/users/1/cart/1", ""],
  ];

  test.each(cases)("%s", async (_name, method, path, body) => {
    const before = await allRows();
    const res = await call(method, path, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("BAD_REQUEST");
    expect(JSON.stringify(res.body)).not.toContain("    at ");
    expect(await allRows()).toEqual(before);
  });

  test.each(["POST /users/1/cart", "PUT /users/1/cart/1"])("%s with no body at all", async (route) => {
    const [method, path] = route.split(" ") as [string, string];
    const before = await allRows();
    const res = await app.request(path, { method, headers: asAdmin });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe("BAD_REQUEST");
    expect(await allRows()).toEqual(before);
  });
});

describe("health, readiness, unknown routes", () => {
  test("/health and /ready answer", async () => {
    expect(await call("GET", "/health")).toEqual({ status: 200, body: { status: "ok", service: "cart" } });
    expect((await call("GET", "/ready")).status).toBe(200);
  });

  test.each([
    ["GET", "/nope"],
    ["GET", "/users/1"],
    ["GET", "/users/1/cart/1"],
    ["PATCH", "/users/1/cart/1"],
  ])("%s %s is 404 in the envelope", async (method, path) => {
    const { status, body } = await call(method, path);
    expect(status).toBe(404);
    expect(body.error.code).toBe("NOT_FOUND");
  });

  test("migrations are safe to run twice", async () => {
    expect(await migrate(db.sql, migrations)).toEqual([]);
    const [row] = await db.sql`select count(*)::int as count from user_cart where user_id in (1, 2, 3)`;
    expect(row?.count).toBe(6);
  });
});
