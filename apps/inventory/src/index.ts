// Starts the inventory service: config from the environment, database, migrations, HTTP server.
import { intFromEnv, urlFromEnv } from "@storefront/shared/config";
import { DEFAULT_QUEUE_PREFIX, DEFAULT_REDIS_URL } from "@storefront/shared/notifications/events";
import { startOutboxRelay } from "@storefront/shared/outbox/start-outbox-relay";
import { logLevelFromEnv } from "@storefront/shared/observability/logger";
import { startDatabaseService } from "@storefront/shared/start-database-service";
import { createApp } from "./app.ts";
import { chaosFromEnv, type ChaosOptions } from "./chaos.ts";

const env = process.env;
let port: number;
let chaos: ChaosOptions;
let redisUrl: string;
try {
  port = intFromEnv(env, "PORT", 8001);
  redisUrl = urlFromEnv(env, "REDIS_URL", DEFAULT_REDIS_URL);
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
  logLevel: logLevelFromEnv(env),
  // Redis may be down at start-up: the service serves anyway and its outbox relay waits for it.
  start: (sql) => startOutboxRelay({ sql, service: "inventory", redisUrl, prefix: env.QUEUE_PREFIX || DEFAULT_QUEUE_PREFIX }),
  createApp: (sql, outbox, observability) => createApp({ sql, chaos, outbox, observability }),
});
