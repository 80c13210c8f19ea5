// The benchmark's own databases on BENCH_DATABASE_URL's server: created fresh before a run, dropped after.
// Uses psql (the workspace's postgres.js is not resolvable from the repository root, and nothing may be added).

export const BENCH_SERVICES = ["products", "inventory", "favorites", "cart"] as const;
export type BenchService = (typeof BENCH_SERVICES)[number];

export const DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

/** The admin URL with another database name. */
export function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function psql(url: string, sqlText: string): Promise<string> {
  const psqlBin = Bun.which("psql");
  if (!psqlBin) throw new Error("psql is not installed (apt-get install -y postgresql-client)");
  const proc = Bun.spawn([psqlBin, url, "-v", "ON_ERROR_STOP=1", "-qAtc", sqlText], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`psql failed on ${new URL(url).pathname}: ${err.trim() || out.trim()}`);
  return out.trim();
}

/** Drops and creates bench_<service> for every service; returns each service's URL. */
export async function createBenchDatabases(adminUrl: string): Promise<Record<BenchService, string>> {
  const urls = {} as Record<BenchService, string>;
  for (const service of BENCH_SERVICES) {
    await psql(adminUrl, `drop database if exists bench_${service} with (force)`);
    await psql(adminUrl, `create database bench_${service}`);
    urls[service] = databaseUrl(adminUrl, `bench_${service}`);
  }
  return urls;
}

export async function dropBenchDatabases(adminUrl: string): Promise<void> {
  for (const service of BENCH_SERVICES) {
    await psql(adminUrl, `drop database if exists bench_${service} with (force)`).catch((err) => console.error(`bench: ${(err as Error).message}`));
  }
}

/**
 * The peer serves 10 products, our seed has 12: delete 11 and 12 once the products service has migrated,
 * so both listings carry the same 10 rows and the default request (no ?limit) is the one measured.
 */
export async function trimCatalogueToTen(productsUrl: string): Promise<number> {
  await psql(productsUrl, "delete from product where product_id > 10");
  return Number(await psql(productsUrl, "select count(*) from product"));
}
