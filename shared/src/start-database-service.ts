// The start-up every database-backed service shares: open its database (or the embedded one), apply its
// migrations, serve, and close the database on shutdown. index.ts files read the environment and call this.
import { fileURLToPath } from "node:url";
import type { Hono } from "hono";
import type { Sql } from "postgres";
import { connectDatabase } from "./db/connect.ts";
import { migrate } from "./db/migrate.ts";
import { serveApp } from "./serve.ts";

export async function startDatabaseService(options: {
  service: string;
  port: number;
  /** The service's own <SERVICE>_DATABASE_URL; without it, an embedded Postgres. */
  databaseUrl: string | undefined;
  /** Where the embedded database keeps its files; default <repo>/.data/<service>. */
  dataDir: string | undefined;
  /** The service's migrations folder, e.g. new URL("./db/migrations", import.meta.url). */
  migrations: URL;
  createApp: (sql: Sql) => Hono<any, any, any>;
}) {
  const { service, port, databaseUrl, dataDir, migrations, createApp } = options;
  const db = await connectDatabase({
    url: databaseUrl || undefined,
    dataDir: dataDir || fileURLToPath(new URL(`../../.data/${service}`, import.meta.url)),
  });
  await migrate(db.sql, fileURLToPath(migrations));
  return serveApp({ app: createApp(db.sql), service, port, onClose: [db.close] });
}
