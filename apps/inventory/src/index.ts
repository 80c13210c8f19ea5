// Starts the inventory service: config from the environment, database, migrations, HTTP server.
// Access tokens are checked against the users service's published keys (USERS_URL).
import { createUsersVerifier, DEFAULT_USERS_URL } from "@storefront/shared/auth/users-verifier";
import { intFromEnv, urlFromEnv } from "@storefront/shared/config";
import { DEFAULT_QUEUE_PREFIX, DEFAULT_REDIS_URL } from "@storefront/shared/notifications/events";
import { startOutboxRelay } from "@storefront/shared/outbox/start-outbox-relay";
import { startDatabaseService } from "@storefront/shared/start-database-service";
import { startup } from "@storefront/shared/startup";
import { createApp } from "./app.ts";
import { chaosFromEnv } from "@storefront/shared/chaos";

const env = process.env;
const start = startup("inventory", env);
const settings = start.settings(() => ({
  port: intFromEnv(env, "PORT", 8001),
  redisUrl: urlFromEnv(env, "REDIS_URL", DEFAULT_REDIS_URL),
  usersUrl: urlFromEnv(env, "USERS_URL", DEFAULT_USERS_URL),
  chaos: chaosFromEnv(env),
}));
const { chaos } = settings;
if (chaos.delayMs || chaos.failRate) start.observability.logger.info("demo knobs on", { delayMs: chaos.delayMs ?? null, failRate: chaos.failRate });

await startDatabaseService({
  startup: start,
  service: "inventory",
  port: settings.port,
  databaseUrl: env.INVENTORY_DATABASE_URL,
  dataDir: env.INVENTORY_DATA_DIR,
  migrations: new URL("./db/migrations", import.meta.url),
  // Redis may be down at start-up: the service serves anyway and its outbox relay waits for it.
  start: (sql, { logger }) => startOutboxRelay({ sql, logger, redisUrl: settings.redisUrl, prefix: env.QUEUE_PREFIX || DEFAULT_QUEUE_PREFIX }),
  createApp: (sql, outbox, observability) =>
    createApp({ sql, chaos, outbox, observability, verifier: createUsersVerifier({ usersUrl: settings.usersUrl, logger: observability.logger }) }),
});
