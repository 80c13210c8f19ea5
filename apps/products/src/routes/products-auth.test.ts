// Who may do what to the catalogue: reading is public; PATCH /products/:id is for admins only, checked before
// the body is read, so a refused edit changes no row and writes no price.dropped event.
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
  db = await createTestDatabase("products_auth");
  await migrate(db.sql, fileURLToPath(new URL("../db/migrations", import.meta.url)));
  [issuer, stranger] = await Promise.all([createTestIssuer(), createTestIssuer()]);
  app = createApp({ sql: db.sql, verifier: issuer.verifier, outbox: { wake: () => void wakes++ } });
});
afterAll(() => db?.drop());
beforeEach(async () => {
  await db.sql`delete from outbox`;
  wakes = 0;
});

/** A price drop: were it let through, it would change the row and write an event. */
const DROP = { price_cents: 1 };

const patch = async (headers: Record<string, string>, body: unknown = DROP) => {
  const res = await app.request("/products/1", {
    method: "PATCH",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, challenge: res.headers.get("www-authenticate"), body: (await res.json()) as any };
};

/** Every product row and every outbox row: what a refused request must leave as it was. */
const snapshot = async () => ({
  products: [...(await db.sql`select * from product order by product_id`)],
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

describe("reading the catalogue is public", () => {
  test("GET /products and /products/:id answer without a token", async () => {
    expect((await app.request("/products?limit=2")).status).toBe(200);
    expect((await app.request("/products/1")).status).toBe(200);
  });

  test.each(["customer", "courier", "service", "admin"] as Role[])("and with a %s token", async (role) => {
    const headers = await issuer.auth(role === "service" ? "bff" : 5, role);
    expect((await app.request("/products/1", { headers })).status).toBe(200);
  });

  test("a token that does not verify is a 401 even on a public read: its holder should learn it", async () => {
    const res = await app.request("/products/1", { headers: await stranger.auth(5) });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toStartWith("Bearer");
    expect(((await res.json()) as any).error.code).toBe("UNAUTHENTICATED");
  });
});

describe("PATCH /products/:id is for admins only", () => {
  test.each([
    ["a customer", "customer", "7"],
    ["a courier", "courier", "8"],
    ["a service", "service", "notifications"],
  ] as [string, Role, string][])("%s: 403 FORBIDDEN, the product unchanged, no event written", async (_, role, sub) => {
    const headers = await issuer.auth(sub, role);
    const res = await expectNothingChanged(() => patch(headers));
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("FORBIDDEN");
  });

  test("a customer learns nothing from validation: a malformed body is still 403, not 400", async () => {
    const headers = await issuer.auth(7);
    for (const body of [{}, { price_cents: -1 }, { sku: "X" }]) {
      const res = await expectNothingChanged(() => patch(headers, body));
      expect(res.status).toBe(403);
    }
  });

  test("no token: 401 UNAUTHENTICATED with a Bearer challenge, nothing changed", async () => {
    const res = await expectNothingChanged(() => patch({}));
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("UNAUTHENTICATED");
    expect(res.challenge).toStartWith("Bearer");
  });

  test("an admin token from another issuer: 401, nothing changed", async () => {
    const res = await expectNothingChanged(async () => patch(await stranger.auth(1, "admin")));
    expect(res.status).toBe(401);
    expect(res.challenge).toStartWith("Bearer");
  });

  test("an expired admin token, or a header that is not a Bearer token: 401, nothing changed", async () => {
    const expired = await issuer.token(1, "admin", -60);
    for (const authorization of [`Bearer ${expired}`, `Basic ${btoa("admin:admin")}`, "Bearer not-a-jwt"]) {
      const res = await expectNothingChanged(() => patch({ authorization }));
      expect(res.status).toBe(401);
      expect(res.challenge).toStartWith("Bearer");
    }
  });

  test("an admin: 200, the product changed and price.dropped written", async () => {
    const res = await patch(await issuer.auth(1, "admin"));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ product_id: 1, price_cents: 1 });
    expect((await snapshot()).outbox.map((e) => e.type)).toEqual(["price.dropped"]);
    expect(wakes).toBe(1);
  });
});
