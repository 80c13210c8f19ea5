// Databases for tests. With TEST_DATABASE_URL (a real server) each call creates its own database and drops it
// afterwards. Without it, one embedded Postgres is shared by the test process and each call gets a fresh schema.
// Under CI=true a missing TEST_DATABASE_URL is an error, not a fallback.
import postgres, { type Sql } from "postgres";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../db/embedded-postgres.ts";

export type TestDatabase = { url: string; sql: Sql; drop: () => Promise<void> };

let embedded: Promise<EmbeddedPostgres> | undefined;
let counter = 0;

const uniqueName = (prefix: string) =>
  `${prefix}_${process.pid}_${Date.now().toString(36)}_${(counter++).toString(36)}`.toLowerCase().replace(/[^a-z0-9_]/g, "_");

export async function createTestDatabase(prefix = "test"): Promise<TestDatabase> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl && process.env.CI === "true") throw new Error("CI=true but TEST_DATABASE_URL is not set: database tests need a real Postgres in CI");
  return serverUrl ? createOnServer(serverUrl, uniqueName(prefix)) : createEmbedded(uniqueName(prefix));
}

async function createOnServer(serverUrl: string, name: string): Promise<TestDatabase> {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    await admin`create database ${admin(name)}`;
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const sql = postgres(url.toString(), { max: 4, onnotice: () => {} });
  return {
    url: url.toString(),
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
      try {
        await admin`drop database if exists ${admin(name)} with (force)`;
      } finally {
        await admin.end();
      }
    },
  };
}

async function createEmbedded(schema: string): Promise<TestDatabase> {
  embedded ??= startEmbeddedPostgres({ maxConnections: 16 });
  const { url } = await embedded;
  // PGlite ignores search_path as a startup parameter, so set it on the (single) connection.
  const setup = postgres(url, { max: 1, onnotice: () => {} });
  await setup`create schema ${setup(schema)}`;
  await setup.end();
  const sql = postgres(url, {
    max: 1,
    onnotice: () => {},
    idle_timeout: 0,
  });
  await sql.unsafe(`set search_path to "${schema}"`);
  return {
    url,
    sql,
    async drop() {
      await sql.unsafe(`drop schema "${schema}" cascade`);
      await sql.end({ timeout: 5 });
    },
  };
}
