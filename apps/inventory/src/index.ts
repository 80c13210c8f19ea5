// Starts the inventory service: config from the environment, database, migrations, HTTP server.
import { intFromEnv } from "@storefront/shared/config";
import { startDatabaseService } from "@storefront/shared/start-database-service";
import { createApp } from "./app.ts";
import { chaosFromEnv, type ChaosOptions } from "./chaos.ts";

const env = process.env;
let port: number;
let chaos: ChaosOptions;
try {
  port = intFromEnv(env, "PORT", 8001);
  chaos = chaosFromEnv(env);
} catch (err) {
  console.error(`inventory: ${(err as Error).message}`);
  process.exit(1);
}
if (chaos.delayMs || chaos.failRate) {
  console.log(JSON.stringify({ level: "info", service: "inventory", msg: "demo knobs on", delayMs: chaos.delayMs ?? null, failRate: chaos.failRate }));
}

await startDatabaseService({
  service: "inventory",
  port,
  databaseUrl: env.INVENTORY_DATABASE_URL,
  dataDir: env.INVENTORY_DATA_DIR,
  migrations: new URL("./db/migrations", import.meta.url),
  createApp: (sql) => createApp({ sql, chaos }),
});
