// Starts the delivery service: settings from the environment, database and migrations, the outbox relay, the
// consumer of the delivery queue, and the HTTP server. Redis may be down at start: HTTP serves, the relay and
// the consumer wait for it. On SIGTERM/SIGINT the consumer stops taking jobs at once and gets
// SHUTDOWN_GRACE_MS to finish its active ones, HTTP drains, then the consumer, the relay and the database
// close in that order, and the process exits 0. Tokens are checked against the users service's keys (USERS_URL).
import { Redis } from "ioredis";
import { createUsersVerifier, DEFAULT_USERS_URL } from "@storefront/shared/auth/users-verifier";
import { intFromEnv, upstreamFromEnv, urlFromEnv } from "@storefront/shared/config";
import { DEFAULT_QUEUE_PREFIX, DEFAULT_REDIS_URL, workerRedisOptions } from "@storefront/shared/notifications/events";
import { startOutboxRelay } from "@storefront/shared/outbox/start-outbox-relay";
import { startDatabaseService } from "@storefront/shared/start-database-service";
import { startup } from "@storefront/shared/startup";
import { createApp } from "./app.ts";
import { createOutageLog } from "@storefront/shared/observability/redis-outage";
import { createDeliveryWorker, ORDER_EVENT_WORDS } from "./consumer/worker.ts";
import { processHost, type AppHost } from "@storefront/shared/app-host";

/** Starts the app with these settings; `host` is its process (app-host.ts: its own, or bun run dev's). */
export async function main(env: Record<string, string | undefined> = process.env, host: AppHost = processHost) {
  const start = startup("delivery", env, host);
  const settings = start.settings(() => ({
    port: intFromEnv(env, "PORT", 8008),
    redisUrl: urlFromEnv(env, "REDIS_URL", DEFAULT_REDIS_URL),
    prefix: env.QUEUE_PREFIX || DEFAULT_QUEUE_PREFIX,
    usersUrl: upstreamFromEnv(env, "USERS_URL", DEFAULT_USERS_URL),
    concurrency: intFromEnv(env, "WORKER_CONCURRENCY", 10, { min: 1 }),
    // How soon a job whose process died is run again (BullMQ's default lock is 30 s), as in orders and notifications.
    lockMs: intFromEnv(env, "WORKER_LOCK_MS", 30_000, { min: 100 }),
    shutdownGraceMs: intFromEnv(env, "SHUTDOWN_GRACE_MS", 10_000),
  }));

  await startDatabaseService({
    startup: start,
    service: "delivery",
    port: settings.port,
    databaseUrl: env.DELIVERY_DATABASE_URL,
    dataDir: env.DELIVERY_DATA_DIR,
    migrations: new URL("./db/migrations", import.meta.url),
    start: (sql, { logger }) => {
      const relay = startOutboxRelay({ sql, logger, registry: start.observability.registry, redisUrl: settings.redisUrl, prefix: settings.prefix });

      const connection = new Redis(...workerRedisOptions(settings.redisUrl));
      // ioredis reconnects by itself (retryStrategy); the outage is logged once rather than per attempt.
      const outage = createOutageLog(logger, ORDER_EVENT_WORDS);
      connection.on("error", outage.onError("redis connection"));
      connection.on("ready", outage.onReady);
      const consumer = createDeliveryWorker({
        connection,
        prefix: settings.prefix,
        concurrency: settings.concurrency,
        sql,
        logger,
        outbox: relay,
        outage,
        redisReady: () => connection.status === "ready",
        lockDurationMs: settings.lockMs,
      });
      consumer.worker.on("ready", () => logger.info("worker ready", { prefix: settings.prefix, concurrency: settings.concurrency }));

      let stopping: Promise<void> | undefined;
      const stopConsumer = () =>
        (stopping ??= consumer.close({ graceMs: settings.shutdownGraceMs }).then((outcome) => logger.info(`worker stopped (${outcome})`)));
      // Registered before serveApp's own handlers: the consumer stops taking jobs while HTTP is still draining.
      host.onStop(() => void stopConsumer());

      return {
        wake: relay.wake,
        async close() {
          // The consumer first: a job in flight may still wake the relay and needs the database.
          await stopConsumer();
          connection.disconnect();
          await relay.close();
        },
      };
    },
    createApp: (sql, outbox, observability) =>
      createApp({ sql, outbox, observability, verifier: createUsersVerifier({ usersUrl: settings.usersUrl, logger: observability.logger }) }),
  });
}

if (import.meta.main) await main();
