// Many replicas start at once (a Deployment rollout, an HPA scale-up) and each migrates on start: the advisory
// lock in migrate.ts must make that one application of each file, with the others waiting and applying nothing.
// Needs a real server (TEST_DATABASE_URL): the embedded PGlite serialises connections, so it would prove nothing.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres, { type Sql } from "postgres";
import { createTestDatabase, type TestDatabase } from "../testing/test-database.ts";
import { migrate } from "./migrate.ts";

const serverUrl = process.env.TEST_DATABASE_URL;
if (!serverUrl) {
  if (process.env.CI === "true") throw new Error("CI=true but TEST_DATABASE_URL is not set: the concurrent migration test needs a real Postgres");
  console.log("migrate-concurrent.test.ts skipped: TEST_DATABASE_URL is not set (concurrent migrations need a real Postgres)");
}

const REPLICAS = 8;
let db: TestDatabase;
let directory: string;
let replicas: Sql[] = [];

beforeAll(async () => {
  if (!serverUrl) return;
  db = await createTestDatabase("migrate_concurrent");
  directory = mkdtempSync(join(tmpdir(), "migrate-concurrent-"));
  // Neither file may run twice: a second `create table` fails, a second insert leaves two rows. The sleep keeps
  // the first replica inside its transaction long enough for all the others to arrive while it holds the lock.
  writeFileSync(join(directory, "001_widgets.sql"), "create table widgets (id int primary key); select pg_sleep(0.3);");
  writeFileSync(join(directory, "002_seed.sql"), "insert into widgets (id) values (1);");
  // One connection per replica, opened before the race so that every migrate() starts at the same moment.
  replicas = Array.from({ length: REPLICAS }, () => postgres(db.url, { max: 1, onnotice: () => {} }));
  await Promise.all(replicas.map((sql) => sql`select 1`));
});

afterAll(async () => {
  await Promise.all(replicas.map((sql) => sql.end({ timeout: 5 })));
  if (directory) rmSync(directory, { recursive: true, force: true });
  await db?.drop();
});

test.skipIf(!serverUrl)(`${REPLICAS} replicas migrating the same database at once: one applies every file, the others wait and apply none`, async () => {
  const started = performance.now();
  const results = await Promise.all(replicas.map((sql) => migrate(sql, directory)));
  const elapsedMs = performance.now() - started;

  const appliers = results.filter((applied) => applied.length > 0);
  expect(appliers).toEqual([["001_widgets.sql", "002_seed.sql"]]);
  expect(results.filter((applied) => applied.length === 0)).toHaveLength(REPLICAS - 1);
  expect([...(await db.sql`select id from widgets`)]).toEqual([{ id: 1 }]);
  expect((await db.sql<{ name: string }[]>`select name from schema_migrations order by name`).map((r) => r.name)).toEqual(["001_widgets.sql", "002_seed.sql"]);
  // The others really were held by the lock (not merely late): the run lasted at least the first one's sleep.
  expect(elapsedMs).toBeGreaterThanOrEqual(250);
});

test.skipIf(!serverUrl)("a replica that starts after the race finds everything applied and changes nothing", async () => {
  expect(await migrate(db.sql, directory)).toEqual([]);
  expect([...(await db.sql`select id from widgets`)]).toEqual([{ id: 1 }]);
});
