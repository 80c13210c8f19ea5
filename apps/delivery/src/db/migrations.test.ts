// The migrations on a fresh database: the seeded couriers linked to the seeded courier users, and the outbox
// table exactly the shared one (every emitting service carries a copy; this keeps delivery's equal).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase, type TestDatabase } from "@storefront/shared/testing/test-database";
import { migrations } from "../testing/delivery-fixture.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase("delivery_migrations");
}, 60_000);
afterAll(() => db?.drop());

test("they apply once, and a second run applies nothing", async () => {
  expect(await migrate(db.sql, migrations)).toEqual(["001_couriers.sql", "002_deliveries.sql", "003_outbox.sql", "004_event_log.sql"]);
  expect(await migrate(db.sql, migrations)).toEqual([]);
});

test("couriers 1 and 2 are users 7 and 8 (courier1@ and courier2@storefront.test in the users seed)", async () => {
  expect([...(await db.sql`select courier_id, user_id, name from couriers order by courier_id`)]).toEqual([
    { courier_id: 1, user_id: 7, name: "Courier One" },
    { courier_id: 2, user_id: 8, name: "Courier Two" },
  ]);
});

test("the outbox migration is the shared one, unchanged", () => {
  const shared = readFileSync(new URL("../../../../shared/src/outbox/outbox.sql", import.meta.url), "utf8");
  expect(readFileSync(`${migrations}/003_outbox.sql`, "utf8")).toBe(shared);
});
