// Starts the products service: settings from the environment, then database, migrations and HTTP server.
// Access tokens are checked against the users service's published keys (USERS_URL).
import { createUsersVerifier, DEFAULT_USERS_URL } from "@storefront/shared/auth/users-verifier";
import { intFromEnv, upstreamFromEnv, urlFromEnv } from "@storefront/shared/config";
import { DEFAULT_QUEUE_PREFIX, DEFAULT_REDIS_URL } from "@storefront/shared/notifications/events";
import { createEventPublisher } from "@storefront/shared/outbox/event-publisher";
import { startOutboxRelay } from "@storefront/shared/outbox/start-outbox-relay";
import { startDatabaseService } from "@storefront/shared/start-database-service";
import { startup } from "@storefront/shared/startup";
import { createApp } from "./app.ts";
import { processHost, type AppHost } from "@storefront/shared/app-host";

/** Starts the app with these settings; `host` is its process (app-host.ts: its own, or bun run dev's). */
export async function main(env: Record<string, string | undefined> = process.env, host: AppHost = processHost) {
  const start = startup("products", env, host);
  const settings = start.settings(() => ({
    port: intFromEnv(env, "PORT", 8000),
    redisUrl: urlFromEnv(env, "REDIS_URL", DEFAULT_REDIS_URL),
    usersUrl: upstreamFromEnv(env, "USERS_URL", DEFAULT_USERS_URL),
  }));
  await startDatabaseService({
    startup: start,
    service: "products",
    port: settings.port,
    databaseUrl: env.PRODUCTS_DATABASE_URL,
    dataDir: env.PRODUCTS_DATA_DIR,
    migrations: new URL("./db/migrations", import.meta.url),
    // Redis may be down at start-up: the service serves anyway and its outbox relay waits for it.
    start: (sql, { logger, registry }) => {
      const prefix = env.QUEUE_PREFIX || DEFAULT_QUEUE_PREFIX;
      // product.changed is broadcast to every BFF (events.ts BROADCASTS) on a connection of its own.
      const publisher = createEventPublisher(settings.redisUrl);
      const relay = startOutboxRelay({ sql, logger, registry, redisUrl: settings.redisUrl, prefix, relay: { broadcast: { publisher, prefix } } });
      return {
        wake: relay.wake,
        async close() {
          await relay.close(); // its batch in flight may still PUBLISH
          publisher.close();
        },
      };
    },
    createApp: (sql, outbox, observability) =>
      createApp({ sql, outbox, observability, verifier: createUsersVerifier({ usersUrl: settings.usersUrl, logger: observability.logger }) }),
  });
}

if (import.meta.main) await main();
