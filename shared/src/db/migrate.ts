// Applies plain SQL migration files in name order, once each, recorded in schema_migrations.
// An advisory lock serialises two instances starting at the same time.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Sql } from "postgres";

const MIGRATION_LOCK = 72_616_001; // any constant; shared by every service's migrator

export async function migrate(sql: Sql, directory: string): Promise<string[]> {
  const files = readdirSync(directory).filter((f) => f.endsWith(".sql")).sort();
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`create table if not exists schema_migrations (name text primary key, applied_at timestamptz not null default now())`;
    const done = new Set((await tx<{ name: string }[]>`select name from schema_migrations`).map((r) => r.name));
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file)) continue;
      await tx.unsafe(readFileSync(join(directory, file), "utf8"));
      await tx`insert into schema_migrations (name) values (${file})`;
      applied.push(file);
    }
    return applied;
  });
}
