import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp } from "../app.ts";

let db: TestDatabase;
let app: ReturnType<typeof createApp>;
/** These tests are about what the routes do, so they act as an admin (any user's favorites); favorites-auth.test.ts is about who may. */
let asAdmin: Record<string, string>;
const migrations = fileURLToPath(new URL("../db/migrations", import.meta.url));

beforeAll(async () => {
  db = await createTestDatabase("favorites");
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

const allRows = () => db.sql`select user_id, product_id from user_favorite order by user_id, product_id`;

describe("GET /users/:id/favorites", () => {
  test("lists the seeded favorites ordered by product_id", async () => {
    const { status, body } = await call("GET", "/users/1/favorites");
    expect(status).toBe(200);
    expect(body).toEqual([{ product_id: 1 }, { product_id: 2 }, { product_id: 3 }]);
  });

  test("a user without favorites gets [] rather than 404", async () => {
    const { status, body } = await call("GET", "/users/2/favorites");
    expect(status).toBe(200);
    expect(body).toEqual([]);
  });
});

describe("POST /users/:id/favorites", () => {
  test("201 when newly added, 200 when it was already there, stored once", async () => {
    const first = await call("POST", "/users/10/favorites", { product_id: 7 });
    expect(first).toEqual({ status: 201, body: { product_id: 7 } });
    const again = await call("POST", "/users/10/favorites", { product_id: 7 });
    expect(again).toEqual({ status: 200, body: { product_id: 7 } });
    expect((await call("GET", "/users/10/favorites")).body).toEqual([{ product_id: 7 }]);
  });

  test("keeps the list ordered by product_id whatever the insertion order", async () => {
    for (const product_id of [9, 4, 6]) expect((await call("POST", "/users/11/favorites", { product_id })).status).toBe(201);
    expect((await call("GET", "/users/11/favorites")).body).toEqual([{ product_id: 4 }, { product_id: 6 }, { product_id: 9 }]);
  });
});

describe("DELETE /users/:id/favorites/:product_id", () => {
  test("removes a favorite with 204 and is idempotent", async () => {
    await call("POST", "/users/12/favorites", { product_id: 5 });
    await call("POST", "/users/12/favorites", { product_id: 8 });
    expect(await call("DELETE", "/users/12/favorites/5")).toEqual({ status: 204, body: null });
    expect((await call("GET", "/users/12/favorites")).body).toEqual([{ product_id: 8 }]);
    expect(await call("DELETE", "/users/12/favorites/5")).toEqual({ status: 204, body: null });
    expect((await call("GET", "/users/12/favorites")).body).toEqual([{ product_id: 8 }]);
  });

  test("204 for a favorite that never existed, and other users are untouched", async () => {
    const before = await allRows();
    expect((await call("DELETE", "/users/2/favorites/1")).status).toBe(204);
    expect(await allRows()).toEqual(before);
  });
});

describe("bad input is 400 in the envelope and writes nothing", () => {
  const badIds = ["0", "-1", "abc", "1.5", "01", "99999999999"];
  const cases: [string, string, string, unknown][] = [
    ...badIds.map((id): [string, string, string, unknown] => [`GET user ${id}`, "GET", `/users/${id}/favorites`, undefined]),
    ...badIds.map((id): [string, string, string, unknown] => [`POST user ${id}`, "POST", `/users/${id}/favorites`, { product_id: 4 }]),
    ...badIds.map((id): [string, string, string, unknown] => [`DELETE user ${id}`, "DELETE", `/users/${id}/favorites/1`, undefined]),
    ...badIds.map((id): [string, string, string, unknown] => [`DELETE product ${id}`, "DELETE", `/users/1/favorites/${id}`, undefined]),
    ["product_id 0", "POST", "/users/1/favorites", { product_id: 0 }],
    ["product_id -1", "POST", "/users/1/favorites", { product_id: -1 }],
    ["product_id 1.5", "POST", "/users/1/favorites", { product_id: 1.5 }],
    ["product_id as a string", "POST", "/users/1/favorites", { product_id: "4" }],
    ["product_id beyond int4", "POST", "/users/1/favorites", { product_id: 2_147_483_648 }],
    ["product_id null", "POST", "/users/1/favorites", { product_id: null }],
    ["missing product_id", "POST", "/users/1/favorites", {}],
    ["unknown body field", "POST", "/users/1/favorites", { product_id: 4, note: "x" }],
    ["array body", "POST", "/users/1/favorites", [{ product_id: 4 }]],
    ["malformed JSON", "POST", "/users/1/favorites", '{"product_id": 4'],
    ["empty body with a JSON content type", "POST", "/users/1/favorites", ""],
  ];

  test.each(cases)("%s", async (_name, method, path, body) => {
    const before = await allRows();
    const res = await call(method, path, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("BAD_REQUEST");
    expect(JSON.stringify(res.body)).not.toContain("    at ");
    expect(await allRows()).toEqual(before);
  });

  test("missing body (no content type)", async () => {
    const before = await allRows();
    const res = await app.request("/users/1/favorites", { method: "POST", headers: asAdmin });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe("BAD_REQUEST");
    expect(await allRows()).toEqual(before);
  });
});

describe("health, readiness, unknown routes", () => {
  test("/health and /ready answer", async () => {
    expect(await call("GET", "/health")).toEqual({ status: 200, body: { status: "ok", service: "favorites" } });
    expect((await call("GET", "/ready")).status).toBe(200);
  });

  test.each([
    ["GET", "/nope"],
    ["GET", "/users/1"],
    ["PUT", "/users/1/favorites/1"],
  ])("%s %s is 404 in the envelope", async (method, path) => {
    const { status, body } = await call(method, path);
    expect(status).toBe(404);
    expect(body.error.code).toBe("NOT_FOUND");
  });

  test("migrations are safe to run twice", async () => {
    expect(await migrate(db.sql, migrations)).toEqual([]);
    const [row] = await db.sql`select count(*)::int as count from user_favorite where user_id in (1, 2, 3)`;
    expect(row?.count).toBe(6);
  });
});
