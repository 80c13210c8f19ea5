// stock.back_in_stock in the outbox: written with the stock change, only for a known product going from 0 to more.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { createTestIssuer, type TestIssuer } from "@storefront/shared/testing/token-issuer";
import { createApp } from "../app.ts";

let db: TestDatabase;
let app: ReturnType<typeof createApp>;
let wakes = 0;
let issuer: TestIssuer;
/** Setting stock is for admins; who else may not is inventory-auth.test.ts. */
let asAdmin: Record<string, string>;
const migrations = fileURLToPath(new URL("../db/migrations", import.meta.url));

beforeAll(async () => {
  db = await createTestDatabase("inventory_events");
  await migrate(db.sql, migrations);
  issuer = await createTestIssuer();
  asAdmin = await issuer.auth(900, "admin");
  app = createApp({ sql: db.sql, verifier: issuer.verifier, outbox: { wake: () => void wakes++ } });
}, 60_000);
afterAll(() => db?.drop());
beforeEach(async () => {
  await db.sql`delete from outbox`;
  wakes = 0;
});

const put = async (id: number | string, body: unknown) => {
  const res = await app.request(`/products/${id}/inventory`, { method: "PUT", headers: { ...asAdmin, "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
};

const events = async () => [...(await db.sql<{ id: string; type: string; payload: unknown }[]>`select id, type, payload from outbox order by created_at, id`)];

describe("stock.back_in_stock", () => {
  test("0 -> 5 writes one event with the new stock, and wakes the relay", async () => {
    expect((await put(6, { inventory: 0 })).status).toBe(200); // the seed has product 6 at 0
    expect(await events()).toEqual([]);
    expect(await put(6, { inventory: 5 })).toEqual({ status: 200, body: { product_id: 6, inventory: 5, on_hand: 5, reserved: 0 } });
    const written = await events();
    expect(written.map(({ type, payload }) => ({ type, payload }))).toEqual([{ type: "stock.back_in_stock", payload: { product_id: 6, inventory: 5 } }]);
    expect(written[0]!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(wakes).toBe(1);
  });

  test("5 -> 7 and 7 -> 0 write nothing; the next 0 -> 5 is a new event", async () => {
    await put(7, { inventory: 0 });
    await put(7, { inventory: 5 });
    const [first] = await events();
    await put(7, { inventory: 7 });
    await put(7, { inventory: 0 });
    expect(await events()).toHaveLength(1);
    await put(7, { inventory: 5 });
    const written = await events();
    expect(written).toHaveLength(2);
    expect(written[1]!.id).not.toBe(first!.id);
    expect(written[1]!.payload).toEqual({ product_id: 7, inventory: 5 });
    expect(wakes).toBe(2);
  });

  test("0 -> 0 writes nothing", async () => {
    await put(8, { inventory: 0 });
    await put(8, { inventory: 0 });
    expect(await events()).toEqual([]);
    expect(wakes).toBe(0);
  });

  test("an unknown product's first stock is not an event; once known at 0, going up is", async () => {
    await put(700, { inventory: 5 });
    await put(701, { inventory: 0 });
    expect(await events()).toEqual([]);
    await put(701, { inventory: 3 });
    expect((await events()).map((e) => e.payload)).toEqual([{ product_id: 701, inventory: 3 }]);
  });

  test("a rejected request writes no event and leaves the stock as it was", async () => {
    await put(9, { inventory: 0 });
    for (const body of [{ inventory: -1 }, { inventory: 5, note: "x" }, { inventory: "5" }]) expect((await put(9, body)).status).toBe(400);
    expect((await put("0", { inventory: 5 })).status).toBe(400);
    expect(await events()).toEqual([]);
    expect(wakes).toBe(0);
    const [row] = await db.sql`select inventory from stock where product_id = 9`;
    expect(row?.inventory).toBe(0);
  });

  // The embedded fallback serves one connection, so only a real server can interleave the two requests.
  test.skipIf(!process.env.TEST_DATABASE_URL)("concurrent restocks from 0 write one event: each reads the value the other left", async () => {
    await put(10, { inventory: 0 });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => put(10, { inventory: i + 1 })));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(await events()).toHaveLength(1);
  });

  test("two first sets of an unknown product at once both succeed, and later restocks still count", async () => {
    const results = await Promise.all([put(800, { inventory: 0 }), put(800, { inventory: 0 })]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    await put(800, { inventory: 4 });
    expect((await events()).map((e) => e.payload)).toEqual([{ product_id: 800, inventory: 4 }]);
  });

  test("works without a relay (no outbox dependency): the event still waits in the table", async () => {
    const bare = createApp({ sql: db.sql, verifier: issuer.verifier });
    await put(11, { inventory: 0 });
    const res = await bare.request("/products/11/inventory", { method: "PUT", headers: { ...asAdmin, "content-type": "application/json" }, body: '{"inventory":2}' });
    expect(res.status).toBe(200);
    expect(await events()).toHaveLength(1);
  });

  test("the outbox migration is the shared one, unchanged", () => {
    const shared = readFileSync(new URL("../../../../shared/src/outbox/outbox.sql", import.meta.url), "utf8");
    expect(readFileSync(`${migrations}/003_outbox.sql`, "utf8")).toBe(shared);
  });
});
