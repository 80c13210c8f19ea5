// Opens a service's database: the given URL, or the embedded Postgres under its data directory.
import postgres, { type Sql } from "postgres";
import { startEmbeddedPostgres } from "./embedded-postgres.ts";

export type Database = { sql: Sql; embedded: boolean; close: () => Promise<void> };

export async function connectDatabase(options: { url?: string; dataDir: string; max?: number }): Promise<Database> {
  if (options.url) {
    const sql = postgres(options.url, { max: options.max ?? 10, onnotice: () => {} });
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
