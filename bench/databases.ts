// The benchmark's own databases on BENCH_DATABASE_URL's server: created fresh before a run, dropped after.
// `bun run chaos` uses the same functions with its own prefix and every service's database.
// Uses psql (the workspace's postgres.js is not resolvable from the repository root, and nothing may be added).

// users first: the others check tokens against its keys.
export const BENCH_SERVICES = ["users", "products", "inventory", "favorites", "cart"] as const;
export type BenchService = (typeof BENCH_SERVICES)[number];
/** Checkout's two services (scenario 8): their databases are made with the others, the apps started only for it. */
export const CHECKOUT_SERVICES = ["orders", "payments"] as const;
export type CheckoutService = (typeof CHECKOUT_SERVICES)[number];
/** Every service that owns a database (`bun run chaos` starts them all). */
export const DATABASE_SERVICES = [...BENCH_SERVICES, "notifications", ...CHECKOUT_SERVICES, "delivery"] as const;
export type DatabaseService = (typeof DATABASE_SERVICES)[number];
/** Every bench_* database of a run. */
export const BENCH_DATABASES = [...BENCH_SERVICES, ...CHECKOUT_SERVICES] as const;
export type BenchDatabase = (typeof BENCH_DATABASES)[number];

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

/** Drops and creates bench_<service> for every service, orders and payments included; returns each one's URL. */
export const createBenchDatabases = (adminUrl: string) => createDatabases(adminUrl, "bench", BENCH_DATABASES);

export const dropBenchDatabases = (adminUrl: string) => dropDatabases(adminUrl, "bench", BENCH_DATABASES);

/** Drops and creates <prefix>_<service> for each of `services`; returns each service's URL. */
export async function createDatabases<S extends string>(adminUrl: string, prefix: string, services: readonly S[]): Promise<Record<S, string>> {
  const urls = {} as Record<S, string>;
  for (const service of services) {
    await psql(adminUrl, `drop database if exists ${prefix}_${service} with (force)`);
    await psql(adminUrl, `create database ${prefix}_${service}`);
    urls[service] = databaseUrl(adminUrl, `${prefix}_${service}`);
  }
  return urls;
}

/** Drops <prefix>_<service> for each of `services`; a failure is printed, not thrown (this runs in clean-up). */
export async function dropDatabases(adminUrl: string, prefix: string, services: readonly string[]): Promise<void> {
  for (const service of services) {
    await psql(adminUrl, `drop database if exists ${prefix}_${service} with (force)`).catch((err) => console.error(`${prefix}: ${(err as Error).message}`));
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
