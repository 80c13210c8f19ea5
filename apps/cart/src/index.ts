// Starts the cart service: settings from the environment, then database, migrations and HTTP server.
import { intFromEnv, urlFromEnv } from "@storefront/shared/config";
import { DEFAULT_QUEUE_PREFIX, DEFAULT_REDIS_URL } from "@storefront/shared/notifications/events";
import { startOutboxRelay } from "@storefront/shared/outbox/start-outbox-relay";
import { logLevelFromEnv } from "@storefront/shared/observability/logger";
import { startDatabaseService } from "@storefront/shared/start-database-service";
import { createApp } from "./app.ts";

const env = process.env;
const redisUrl = urlFromEnv(env, "REDIS_URL", DEFAULT_REDIS_URL);
await startDatabaseService({
  service: "cart",
  port: intFromEnv(env, "PORT", 8003),
  databaseUrl: env.CART_DATABASE_URL,
  dataDir: env.CART_DATA_DIR,
  migrations: new URL("./db/migrations", import.meta.url),
  logLevel: logLevelFromEnv(env),
  // Redis may be down at start-up: the service serves anyway and its outbox relay waits for it.
  start: (sql) => startOutboxRelay({ sql, service: "cart", redisUrl, prefix: env.QUEUE_PREFIX || DEFAULT_QUEUE_PREFIX }),
  createApp: (sql, outbox, observability) => createApp({ sql, outbox, observability }),
});
