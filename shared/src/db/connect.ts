// Opens a service's database: the given URL, or the embedded Postgres under its data directory.
import postgres, { type Sql } from "postgres";
import { startEmbeddedPostgres } from "./embedded-postgres.ts";

/** How long opening a connection may take (postgres.js's default is 30 s). */
export const CONNECT_TIMEOUT_S = 10;

export type Database = { sql: Sql; embedded: boolean; close: () => Promise<void> };

export async function connectDatabase(options: { url?: string; dataDir: string; max?: number }): Promise<Database> {
  if (options.url) {
    const sql = postgres(options.url, { max: options.max ?? 10, onnotice: () => {}, connect_timeout: CONNECT_TIMEOUT_S });
    // postgres.js connects lazily: ask once here, so a database that is down is reported as that, at start-up.
    try {
      await sql`select 1`;
    } catch (err) {
      await sql.end({ timeout: 1 }).catch(() => {});
      throw err;
    }
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
