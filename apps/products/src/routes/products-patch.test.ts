// PATCH /products/:id, and the events it writes in the same transaction: product.changed for every change,
// price.dropped too when the price goes down.
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
/** Editing is for admins; who else may not is products-auth.test.ts. */
let asAdmin: Record<string, string>;
const migrations = fileURLToPath(new URL("../db/migrations", import.meta.url));

beforeAll(async () => {
  db = await createTestDatabase("products_patch");
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

const patch = async (id: number | string, body: unknown) => {
  const res = await app.request(`/products/${id}`, {
    method: "PATCH",
    headers: { ...asAdmin, "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
};

// One transaction's rows share created_at (now() is the transaction's start): ordered by type within it.
const events = async () => [...(await db.sql<{ type: string; payload: unknown }[]>`select type, payload from outbox order by created_at, type`)];
const ofType = async (type: string) => (await events()).filter((e) => e.type === type).map((e) => e.payload);
const productRow = async (id: number) => (await db.sql`select * from product where product_id = ${id}`)[0];

describe("PATCH /products/:id", () => {
  test("a lower price answers the updated product and writes product.changed, and price.dropped with both prices", async () => {
    const { status, body } = await patch(1, { price_cents: 1990 });
    expect(status).toBe(200);
    expect(body).toMatchObject({ product_id: 1, product_name: "Espresso beans 1 kg", sku: "COF-ESP-1000", price_cents: 1990 });
    expect(await events()).toEqual([
      { type: "price.dropped", payload: { product_id: 1, product_name: "Espresso beans 1 kg", old_price_cents: 2490, new_price_cents: 1990 } },
      { type: "product.changed", payload: { product_id: 1, changed: ["price_cents"] } },
    ]);
    expect(wakes).toBe(1);
    expect(((await (await app.request("/products/1")).json()) as any).price_cents).toBe(1990);
  });

  test("a rise writes product.changed but no price.dropped; the same price again writes nothing and wakes nobody", async () => {
    expect((await patch(2, { price_cents: 1490 })).body.price_cents).toBe(1490);
    expect(await events()).toEqual([{ type: "product.changed", payload: { product_id: 2, changed: ["price_cents"] } }]);
    expect(wakes).toBe(1);
    await db.sql`delete from outbox`;
    expect((await patch(2, { price_cents: 1490, product_name: "Filter coffee 500 g" })).status).toBe(200);
    expect(await events()).toEqual([]);
    expect(wakes).toBe(1);
  });

  test("product.changed is written in the edit's own transaction: its created_at is the product's updated_at", async () => {
    await patch(3, { product_name: "Ceramic dripper" });
    const [event] = await db.sql<{ created_at: Date; payload: unknown }[]>`select created_at, payload from outbox where type = 'product.changed'`;
    expect(event!.payload).toEqual({ product_id: 3, changed: ["product_name"] });
    // now() is the transaction's start time: equal only when both rows were written by the same transaction.
    expect(event!.created_at.getTime()).toBe((await productRow(3))!.updated_at.getTime());
  });

  test("when the event cannot be written, the change is rolled back with it: 500 in the envelope, product untouched", async () => {
    await db.sql`create function refuse_product_changed() returns trigger language plpgsql as $$
      begin if new.type = 'product.changed' then raise exception 'outbox refused'; end if; return new; end $$`;
    await db.sql`create trigger refuse_product_changed before insert on outbox for each row execute function refuse_product_changed()`;
    try {
      const before = await productRow(8);
      const { status, body } = await patch(8, { price_cents: 1 });
      expect(status).toBe(500);
      expect(body.error.code).toBeString();
      expect(await productRow(8)).toEqual(before);
      expect(await events()).toEqual([]);
      expect(wakes).toBe(0);
    } finally {
      await db.sql`drop trigger refuse_product_changed on outbox`;
      await db.sql`drop function refuse_product_changed()`;
    }
  });

  test("a drop to 0 is a drop", async () => {
    await patch(3, { price_cents: 0 });
    expect((await ofType("price.dropped")).map((p: any) => [p.old_price_cents, p.new_price_cents])).toEqual([[2200, 0]]);
  });

  test("renaming and a drop in one request: price.dropped carries the new name, product.changed names every field", async () => {
    const { body } = await patch(4, { product_name: "Paper filters, 100", description: "Size 02", price_cents: 450 });
    expect(body).toMatchObject({ product_name: "Paper filters, 100", description: "Size 02", price_cents: 450 });
    expect(await ofType("price.dropped")).toEqual([{ product_id: 4, product_name: "Paper filters, 100", old_price_cents: 490, new_price_cents: 450 }]);
    expect(await ofType("product.changed")).toEqual([{ product_id: 4, changed: ["product_name", "price_cents", "description"] }]);
    expect(wakes).toBe(1);
  });

  test("only the given fields change, and updated_at moves forward", async () => {
    await db.sql`update product set updated_at = now() - interval '1 day' where product_id = 5`;
    const before = await productRow(5);
    const { body } = await patch(5, { description: "1 litre, for every hob" });
    const after = await productRow(5);
    // Compared apart: bun 1.4.4's toMatchObject writes asymmetric matchers (expect.any) into the received object.
    const { updated_at: beforeAt, ...beforeRest } = before!;
    const { updated_at: afterAt, ...afterRest } = after!;
    expect(afterRest).toEqual({ ...beforeRest, description: "1 litre, for every hob" });
    expect(afterAt.getTime()).toBeGreaterThan(beforeAt.getTime());
    expect(new Date(body.updated_at).getTime()).toBe(afterAt.getTime());
    expect(await events()).toEqual([{ type: "product.changed", payload: { product_id: 5, changed: ["description"] } }]);
  });

  test("a name of 200 characters is fine, even when they take 400 UTF-16 units", async () => {
    expect((await patch(6, { product_name: "a".repeat(200) })).status).toBe(200);
    const emoji = "\u{1F375}".repeat(200);
    expect((await patch(6, { product_name: emoji })).body.product_name).toBe(emoji);
  });

  test("404 in the envelope for an unknown product, nothing written", async () => {
    expect(await patch(99999, { price_cents: 1 })).toEqual({ status: 404, body: { error: { code: "NOT_FOUND", message: "product 99999 not found" } } });
    expect(await events()).toEqual([]);
    expect(wakes).toBe(0);
  });

  test.each([
    ["an empty body", {}],
    ["an unknown field", { price_cents: 100, sku: "X" }],
    ["a negative price", { price_cents: -1 }],
    ["a decimal price", { price_cents: 9.5 }],
    ["a price as a string", { price_cents: "100" }],
    ["a null price", { price_cents: null }],
    ["a price above int4", { price_cents: 2_147_483_648 }],
    ["an empty name", { product_name: "" }],
    ["a name of 201 characters", { product_name: "a".repeat(201) }],
    ["a name of 201 emoji", { product_name: "\u{1F375}".repeat(201) }],
    ["a null name", { product_name: null }],
    ["a description that is not a string", { description: 5 }],
    ["a description over 2000 characters", { description: "d".repeat(2001) }],
    ["a drop with a bad extra field", { price_cents: 1, note: "sale" }],
    ["an array body", [{ price_cents: 1 }]],
    ["malformed JSON", '{"price_cents": 1'],
  ])("400 for %s: the product and the outbox are untouched", async (_, body) => {
    const before = await productRow(7);
    const { status, body: res } = await patch(7, body);
    expect(status).toBe(400);
    expect(res.error.code).toBe("BAD_REQUEST");
    expect(JSON.stringify(res)).not.toContain("    at ");
    expect(await productRow(7)).toEqual(before);
    expect(await events()).toEqual([]);
  });

  test.each(["0", "-1", "abc", "1.5", "01", "99999999999"])("400 for id %s", async (id) => {
    expect((await patch(id, { price_cents: 1 })).body.error.code).toBe("BAD_REQUEST");
    expect(await events()).toEqual([]);
  });

  test("the outbox migration is the shared one, unchanged", () => {
    const shared = readFileSync(new URL("../../../../shared/src/outbox/outbox.sql", import.meta.url), "utf8");
    expect(readFileSync(`${migrations}/003_outbox.sql`, "utf8")).toBe(shared);
  });
});
