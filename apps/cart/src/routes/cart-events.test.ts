// cart.changed in the outbox: one per change that changed something, with the number of lines after it.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp } from "../app.ts";

let db: TestDatabase;
let app: ReturnType<typeof createApp>;
let wakes = 0;
/** These tests are about what the routes write, so they act as an admin (any user's cart); cart-auth.test.ts is about who may. */
let asAdmin: Record<string, string>;
const migrations = fileURLToPath(new URL("../db/migrations", import.meta.url));

beforeAll(async () => {
  db = await createTestDatabase("cart_events");
  await migrate(db.sql, migrations);
  const issuer = await createTestIssuer();
  asAdmin = await issuer.auth(900, "admin");
  app = createApp({ sql: db.sql, verifier: issuer.verifier, outbox: { wake: () => void wakes++ } });
});
afterAll(() => db?.drop());
beforeEach(async () => {
  await db.sql`delete from outbox`;
  wakes = 0;
});

const call = async (method: string, path: string, body?: unknown) => {
  const res = await app.request(
    path,
    body === undefined ? { method, headers: asAdmin } : { method, headers: { ...asAdmin, "content-type": "application/json" }, body: JSON.stringify(body) },
  );
  return res.status;
};

const events = async () => [...(await db.sql<{ type: string; payload: unknown }[]>`select type, payload from outbox order by created_at, id`)];
const itemsAfterEach = async () => (await events()).map((e) => (e.payload as { items: number }).items);

describe("cart.changed", () => {
  test("add, add again, set, delete: one event each, with the lines after the change", async () => {
    expect(await call("POST", "/users/20/cart", { product_id: 1 })).toBe(200);
    expect(await call("POST", "/users/20/cart", { product_id: 1, quantity: 2 })).toBe(200);
    expect(await call("POST", "/users/20/cart", { product_id: 2 })).toBe(200);
    expect(await call("PUT", "/users/20/cart/3", { quantity: 4 })).toBe(200);
    expect(await call("PUT", "/users/20/cart/3", { quantity: 1 })).toBe(200);
    expect(await call("DELETE", "/users/20/cart/1")).toBe(204);
    expect(await itemsAfterEach()).toEqual([1, 1, 2, 3, 3, 2]);
    expect((await events()).every((e) => e.type === "cart.changed" && (e.payload as { user_id: number }).user_id === 20)).toBe(true);
    expect(wakes).toBe(6);
  });

  test("the payload is exactly {user_id, items}", async () => {
    await call("POST", "/users/21/cart", { product_id: 5 });
    expect(await events()).toEqual([{ type: "cart.changed", payload: { user_id: 21, items: 1 } }]);
  });

  test("deleting the last line says items 0", async () => {
    await call("PUT", "/users/22/cart/4", { quantity: 1 });
    await call("DELETE", "/users/22/cart/4");
    expect(await itemsAfterEach()).toEqual([1, 0]);
  });

  test("a DELETE that removed nothing writes nothing (still 204)", async () => {
    await call("POST", "/users/23/cart", { product_id: 1 });
    await call("DELETE", "/users/23/cart/1");
    await db.sql`delete from outbox`;
    wakes = 0;
    expect(await call("DELETE", "/users/23/cart/1")).toBe(204);
    expect(await call("DELETE", "/users/24/cart/9")).toBe(204);
    expect(await events()).toEqual([]);
    expect(wakes).toBe(0);
  });

  test("counts are per user: another user's lines do not count", async () => {
    await call("POST", "/users/25/cart", { product_id: 1 });
    await call("POST", "/users/26/cart", { product_id: 1 });
    await call("POST", "/users/26/cart", { product_id: 2 });
    await call("POST", "/users/25/cart", { product_id: 3 });
    expect((await events()).map((e) => e.payload)).toEqual([
      { user_id: 25, items: 1 },
      { user_id: 26, items: 1 },
      { user_id: 26, items: 2 },
      { user_id: 25, items: 2 },
    ]);
  });

  test("a 409 over the cap writes nothing", async () => {
    await call("PUT", "/users/27/cart/1", { quantity: 999 });
    await db.sql`delete from outbox`;
    wakes = 0;
    expect(await call("POST", "/users/27/cart", { product_id: 1 })).toBe(409);
    expect(await events()).toEqual([]);
    expect(wakes).toBe(0);
  });

  test("400s write nothing", async () => {
    expect(await call("POST", "/users/28/cart", { product_id: 0 })).toBe(400);
    expect(await call("POST", "/users/28/cart", { product_id: 1, quantity: 1000 })).toBe(400);
    expect(await call("PUT", "/users/28/cart/1", { quantity: 0 })).toBe(400);
    expect(await call("DELETE", "/users/0/cart/1")).toBe(400);
    expect(await events()).toEqual([]);
    expect(wakes).toBe(0);
  });

  test("the outbox migration is the shared one, unchanged", () => {
    const shared = readFileSync(new URL("../../../../shared/src/outbox/outbox.sql", import.meta.url), "utf8");
    expect(readFileSync(`${migrations}/003_outbox.sql`, "utf8")).toBe(shared);
  });
});
