// The courier seed (003_seed_couriers.sql): users 7 and 8 log in with the demo password and carry role courier,
// registrations get ids past them, and a database whose ids 7 or 8 were taken by registrations is refused
// whole rather than seeded around.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate } from "@storefront/shared/db/migrate";
import { createTestDatabase } from "@storefront/shared/testing/test-database";
import { createUsersTestApp, migrations, type UsersTestApp } from "../testing/users-app.ts";

let t: UsersTestApp;
beforeAll(async () => {
  t = await createUsersTestApp({ prefix: "users_couriers" });
});
afterAll(() => t.drop());

describe("the seeded couriers", () => {
  test.each([
    ["courier1@storefront.test", 7, "Courier One"],
    ["courier2@storefront.test", 8, "Courier Two"],
  ])("%s logs in with the demo password; the token says role courier, sub %i", async (email, id, name) => {
    const { access_token } = await t.session(email);
    expect(await t.verifier.verify(access_token)).toMatchObject({ sub: String(id), role: "courier", userId: id });
    const profile = await t.call("GET", `/users/${id}`, undefined, t.bearer(access_token));
    expect(profile.status).toBe(200);
    expect(profile.body).toMatchObject({ email, name });
  });

  test("the migration's hashes are of the demo password at the other seeds' cost (argon2id m=19456 t=2), so a default-cost login does not rehash them", async () => {
    // Read from the file, not the table: the logins above rehashed the rows at the tests' low cost.
    const hashes = readFileSync(join(migrations, "003_seed_couriers.sql"), "utf8").match(/\$argon2id\$[^']+/g) ?? [];
    expect(hashes).toHaveLength(2);
    for (const hash of hashes) {
      expect(hash).toStartWith("$argon2id$v=19$m=19456,t=2,p=1$");
      expect(await Bun.password.verify("storefront-demo", hash)).toBe(true);
    }
  });

  test("a registration after the seed gets an id past 8", async () => {
    const { status, body } = await t.call("POST", "/auth/register", { email: "after-couriers@example.com", password: "long-enough-pass", name: "After" });
    expect(status).toBe(201);
    expect(body.user_id).toBeGreaterThan(8);
  });
});

describe("a database whose ids 7 and 8 were handed out before the seed", () => {
  let dir: string;
  beforeAll(() => {
    // Only the migrations before the courier seed: a database as it was before 003 existed.
    dir = mkdtempSync(join(tmpdir(), "users-migrations-"));
    for (const file of ["001_users.sql", "002_seed_users.sql"]) cpSync(join(migrations, file), join(dir, file));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("a registered user 7: the seed refuses with a message saying what to do, and writes nothing", async () => {
    const db = await createTestDatabase("users_couriers_taken");
    try {
      await migrate(db.sql, dir);
      await db.sql`insert into app_user (email, name, password_hash, role) values ('early@example.com', 'Early', 'x', 'customer')`;
      expect((await db.sql`select id from app_user where email = 'early@example.com'`)[0]!.id).toBe(7);

      let error: unknown;
      await migrate(db.sql, migrations).catch((err) => (error = err));
      expect(String((error as Error)?.message)).toContain("user ids 7 and 8 or the couriers' emails are taken by registered accounts");

      const [state] = await db.sql<{ couriers: number; applied: number }[]>`
        select (select count(*)::int from app_user where role = 'courier') as couriers,
               (select count(*)::int from schema_migrations where name = '003_seed_couriers.sql') as applied`;
      expect(state).toEqual({ couriers: 0, applied: 0 });
    } finally {
      await db.drop();
    }
  });
});
