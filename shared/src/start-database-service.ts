// The start-up every database-backed service shares: open its database (or the embedded one), apply its
// migrations, start what runs beside HTTP (e.g. an outbox relay), serve, and close it all on shutdown.
// index.ts files read the environment (through startup()) and call this.
import { fileURLToPath } from "node:url";
import type { Hono } from "hono";
import type { Sql } from "postgres";
import { connectDatabase, type DatabaseOptions } from "./db/connect.ts";
import { migrate } from "./db/migrate.ts";
import type { Observability } from "./observability/observability.ts";
import { serveApp } from "./serve.ts";
import type { Startup } from "./startup.ts";

type Closer = () => Promise<unknown> | unknown;

/**
 * Where a service's database is: its URL when given; else a schema on its host's shared embedded server (bun run
 * dev); else a PGlite of its own under `dataDir` (default <repo>/.data/<service>).
 */
export function databaseOptions(startup: Startup, service: string, url: string | undefined, dataDir: string | undefined): DatabaseOptions {
  if (url) return { url, dataDir: "", max: startup.databasePoolMax, idleTimeoutS: startup.databaseIdleTimeoutS };
  const shared = startup.host.embeddedServer;
  if (shared) return { embeddedServer: shared, database: service };
  return { dataDir: dataDir || fileURLToPath(new URL(`../../.data/${service}`, import.meta.url)) };
}

export async function startDatabaseService<Started extends { close?: Closer } = {}>(options: {
  startup: Startup;
  service: string;
  port: number;
  /** The service's own <SERVICE>_DATABASE_URL; without it, an embedded Postgres. */
  databaseUrl: string | undefined;
  /** Where the embedded database keeps its files; default <repo>/.data/<service>. */
  dataDir: string | undefined;
  /** The service's migrations folder, e.g. new URL("./db/migrations", import.meta.url). */
  migrations: URL;
  /** Runs after the migrations, before serving; its result reaches createApp, its close runs before the database's. */
  start?: (sql: Sql, observability: Observability) => Started;
  createApp: (sql: Sql, started: Started, observability: Observability) => Hono<any, any, any>;
}) {
  const { startup, service, port, databaseUrl, dataDir, migrations, start, createApp } = options;
  const { observability } = startup;
  const db = await connectDatabase(databaseOptions(startup, service, databaseUrl, dataDir)).catch((err) => startup.fail("the database does not answer", err));
  await migrate(db.sql, fileURLToPath(migrations)).catch(async (err) => {
    await db.close().catch(() => {});
    return startup.fail("applying the migrations failed", err);
  });
  const started = start ? start(db.sql, observability) : ({} as Started);
  const onClose = started.close ? [started.close, db.close] : [db.close];
  return serveApp({ app: createApp(db.sql, started, observability), service, port, onClose, startup });
}
