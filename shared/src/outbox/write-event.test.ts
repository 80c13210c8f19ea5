import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { migrate } from "../db/migrate.ts";
import { createTestDatabase, type TestDatabase } from "../testing/test-database.ts";
import { writeEvent } from "./write-event.ts";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase("outbox_write");
  // This folder's only .sql file is outbox.sql, the migration every emitting service copies.
  await migrate(db.sql, fileURLToPath(new URL(".", import.meta.url)));
});
afterAll(() => db?.drop());
beforeEach(async () => {
  await db.sql`delete from outbox`;
});

const rows = async () => [...(await db.sql`select id, type, payload, created_at, published_at from outbox order by created_at, id`)];

describe("writeEvent", () => {
  test("inserts the event as an unpublished row and returns its id", async () => {
    const id = await db.sql.begin((tx) => writeEvent(tx, { type: "cart.changed", payload: { user_id: 7, items: 2 } }));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const [row, ...rest] = await rows();
    expect(rest).toEqual([]);
    expect(row).toMatchObject({ id, type: "cart.changed", payload: { user_id: 7, items: 2 }, published_at: null });
    expect(row!.created_at).toBeInstanceOf(Date);
  });

  test("the payload is stored as jsonb (queryable), not as a string", async () => {
    await db.sql.begin((tx) =>
      writeEvent(tx, { type: "price.dropped", payload: { product_id: 3, product_name: "Kettle \"1 l\"", old_price_cents: 4500, new_price_cents: 3900 } }),
    );
    const [row] = await db.sql`select payload->>'product_name' as name, (payload->>'new_price_cents')::int as price, jsonb_typeof(payload) as kind from outbox`;
    expect(row).toEqual({ name: 'Kettle "1 l"', price: 3900, kind: "object" });
  });

  test("an event written in a transaction that rolls back is gone with the change", async () => {
    await expect(
      db.sql.begin(async (tx) => {
        await writeEvent(tx, { type: "stock.back_in_stock", payload: { product_id: 1, inventory: 5 } });
        throw new Error("the change failed");
      }),
    ).rejects.toThrow("the change failed");
    expect(await rows()).toEqual([]);
  });

  test("each event gets its own id", async () => {
    const event = { type: "stock.back_in_stock", payload: { product_id: 1, inventory: 5 } } as const;
    const first = await db.sql.begin((tx) => writeEvent(tx, event));
    const second = await db.sql.begin((tx) => writeEvent(tx, event));
    expect(first).not.toBe(second);
    expect((await rows()).map((r) => r.id)).toHaveLength(2);
  });
});
