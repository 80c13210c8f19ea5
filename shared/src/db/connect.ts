// Opens a service's database: the given URL, a schema on the shared embedded server, or an embedded Postgres of
// the service's own under its data directory.
import postgres, { type Sql } from "postgres";
import { startEmbeddedPostgres } from "./embedded-postgres.ts";
import type { EmbeddedServer } from "./embedded-server.ts";

/** How long opening a connection may take (postgres.js's default is 30 s). */
export const CONNECT_TIMEOUT_S = 10;

export type Database = { sql: Sql; embedded: boolean; close: () => Promise<void> };

export type DatabaseOptions =
  /** A real server at `url`; without `url`, a PGlite of the service's own (about 300 MB) under `dataDir`. */
  | { url?: string; dataDir: string; max?: number; idleTimeoutS?: number; embeddedServer?: undefined }
  /** The one embedded server of a dev stack (startEmbeddedServer); `database` names the service's schema there.
   *  The server belongs to the caller: close() ends only this connection. */
  | { embeddedServer: EmbeddedServer; database: string };

export async function connectDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.embeddedServer) {
    // One connection, unnamed statements: all clients share PGlite's single session, where a named statement
    // of one service would collide with (or be bound to the schema of) another's.
    const sql = postgres(options.embeddedServer.urlFor(options.database), {
      max: 1,
      prepare: false,
      onnotice: () => {},
      connect_timeout: CONNECT_TIMEOUT_S,
    });
    await checkConnection(sql);
    return { sql, embedded: true, close: () => sql.end({ timeout: 5 }) };
  }
  if (options.url) {
    // Idle connections are closed after idleTimeoutS (postgres.js keeps them forever by default): replicas of
    // every service share the server's max_connections, and a burst should not hold them afterwards.
    const sql = postgres(options.url, {
      max: options.max ?? 10,
      idle_timeout: options.idleTimeoutS ?? 30,
      onnotice: () => {},
      connect_timeout: CONNECT_TIMEOUT_S,
    });
    await checkConnection(sql);
    return { sql, embedded: false, close: () => sql.end({ timeout: 5 }) };
  }
  const embedded = await startEmbeddedPostgres({ dataDir: options.dataDir });
  // max: 1: the PGlite socket server runs one query at a time and interleaved
  // extended-protocol batches from several connections can fail (pglite #1046).
  const sql = postgres(embedded.url, { max: 1, onnotice: () => {} });
  return {
    sql,
    embedded: true,
    async close() {
      await sql.end({ timeout: 5 });
      await embedded.stop();
    },
  };
}

// postgres.js connects lazily: ask once here, so a database that is down (or refuses the schema name) is
// reported as that, at start-up.
async function checkConnection(sql: Sql) {
  try {
    await sql`select 1`;
  } catch (err) {
    await sql.end({ timeout: 1 }).catch(() => {});
    throw err;
  }
}
