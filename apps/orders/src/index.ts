// Starts the orders service: config from the environment, database, migrations, the outbox relay, the saga
// runner (whose sweeper resumes sagas a crash left unfinished), the worker applying delivery events (queue
// "orders") and the HTTP server. The saga calls inventory, payments and cart with a service token of its own,
// exchanged at the users service for SERVICE_CLIENT_ID and SERVICE_CLIENT_SECRET; callers' tokens are checked
// against the users service's published keys (USERS_URL).
import { Redis } from "ioredis";
import { createServiceCredentials } from "@storefront/shared/auth/service-credentials";
import { createUsersVerifier, DEFAULT_USERS_URL } from "@storefront/shared/auth/users-verifier";
import { intFromEnv, upstreamFromEnv, urlFromEnv } from "@storefront/shared/config";
import { DEFAULT_QUEUE_PREFIX, DEFAULT_REDIS_URL, ORDERS_QUEUE, workerRedisOptions } from "@storefront/shared/notifications/events";
import { startOutboxRelay } from "@storefront/shared/outbox/start-outbox-relay";
import { startDatabaseService } from "@storefront/shared/start-database-service";
import { startup } from "@storefront/shared/startup";
import { createUpstreamClient } from "@storefront/shared/upstream/client";
import { createApp, DEFAULT_CHECKOUT_WAIT_MS } from "./app.ts";
import { createOrdersClients } from "./clients.ts";
import { createDeliveryEventsWorker, DELIVERY_EVENT_WORDS } from "./delivery-events.ts";
import { createOutageLog } from "@storefront/shared/observability/redis-outage";
import { createSagaRunner, parseCrashPoint, SAGA_DEFAULTS } from "./saga/runner.ts";
import { processHost, type AppHost } from "@storefront/shared/app-host";

/** Starts the app with these settings; `host` is its process (app-host.ts: its own, or bun run dev's). */
export async function main(env: Record<string, string | undefined> = process.env, host: AppHost = processHost) {
  const start = startup("orders", env, host);
  const { logger } = start.observability;
  const settings = start.settings(() => {
    const secret = env.SERVICE_CLIENT_SECRET ?? "";
    if (!secret) throw new Error("SERVICE_CLIENT_SECRET is required: the saga exchanges it at the users service for the token it calls inventory, payments and cart with");
    return {
      port: intFromEnv(env, "PORT", 8006),
      redisUrl: urlFromEnv(env, "REDIS_URL", DEFAULT_REDIS_URL),
      usersUrl: upstreamFromEnv(env, "USERS_URL", DEFAULT_USERS_URL),
      urls: {
        cart: upstreamFromEnv(env, "CART_URL", "http://127.0.0.1:8003"),
        products: upstreamFromEnv(env, "PRODUCTS_URL", "http://127.0.0.1:8000"),
        inventory: upstreamFromEnv(env, "INVENTORY_URL", "http://127.0.0.1:8001"),
        payments: upstreamFromEnv(env, "PAYMENTS_URL", "http://127.0.0.1:8007"),
      },
      clientId: env.SERVICE_CLIENT_ID || "orders",
      clientSecret: secret,
      checkoutWaitMs: intFromEnv(env, "CHECKOUT_WAIT_MS", DEFAULT_CHECKOUT_WAIT_MS),
      stepDeadlineMs: intFromEnv(env, "SAGA_STEP_DEADLINE_MS", 2000, { min: 1 }),
      leaseMs: intFromEnv(env, "SAGA_LEASE_MS", SAGA_DEFAULTS.leaseMs, { min: 100 }),
      sweepMs: intFromEnv(env, "SAGA_SWEEP_MS", SAGA_DEFAULTS.sweepMs, { min: 10 }),
      giveUpMs: intFromEnv(env, "SAGA_GIVE_UP_MS", SAGA_DEFAULTS.giveUpMs, { min: 1 }),
      crashAt: parseCrashPoint(env.ORDERS_CRASH_AT),
      deliveryConcurrency: intFromEnv(env, "DELIVERY_EVENTS_CONCURRENCY", 8, { min: 1 }),
      // Lock duration and stalled-check interval of the delivery events worker (BullMQ's default is 30 s): how
      // soon a job whose process died is run again.
      lockMs: intFromEnv(env, "WORKER_LOCK_MS", 30_000, { min: 100 }),
      shutdownGraceMs: intFromEnv(env, "SHUTDOWN_GRACE_MS", 5000, { min: 0 }),
    };
  });
  if (settings.crashAt) logger.warn("ORDERS_CRASH_AT is set: this process will kill itself there (a test switch)", settings.crashAt);

  const logBreaker = (change: unknown) => logger.warn("circuit breaker state change", change as Record<string, unknown>);
  // The saga's own identity: one users client for its token exchanges (the HTTP side's verifier has its own).
  const users = createUpstreamClient("users", settings.usersUrl, { breaker: { onStateChange: logBreaker } });
  const credentials = createServiceCredentials({ users, clientId: settings.clientId, clientSecret: settings.clientSecret });
  const clients = createOrdersClients({ urls: settings.urls, credentials, deadlineMs: settings.stepDeadlineMs, breaker: { onStateChange: logBreaker } });

  await startDatabaseService({
    startup: start,
    service: "orders",
    port: settings.port,
    databaseUrl: env.ORDERS_DATABASE_URL,
    dataDir: env.ORDERS_DATA_DIR,
    migrations: new URL("./db/migrations", import.meta.url),
    start: (sql, { logger, registry }) => {
      const prefix = env.QUEUE_PREFIX || DEFAULT_QUEUE_PREFIX;
      const relay = startOutboxRelay({ sql, logger, registry, redisUrl: settings.redisUrl, prefix });
      // Delivery events on the orders queue. ioredis reconnects by itself; an outage is logged once, and Redis
      // being down at start-up only delays the events (HTTP and the saga do not need it).
      const connection = new Redis(...workerRedisOptions(settings.redisUrl));
      const outage = createOutageLog(logger, DELIVERY_EVENT_WORDS);
      connection.on("error", outage.onError("redis connection"));
      connection.on("ready", outage.onReady);
      const deliveryEvents = createDeliveryEventsWorker({
        connection,
        prefix,
        sql,
        logger,
        concurrency: settings.deliveryConcurrency,
        lockDurationMs: settings.lockMs,
        outage,
        redisReady: () => connection.status === "ready",
      });
      deliveryEvents.worker.on("ready", () => logger.info("delivery events worker ready", { queue: ORDERS_QUEUE, prefix }));
      const runner = createSagaRunner({
        sql,
        clients,
        logger,
        outbox: relay,
        leaseMs: settings.leaseMs,
        sweepMs: settings.sweepMs,
        giveUpMs: settings.giveUpMs,
        crashAt: settings.crashAt,
        stepDuration: registry.histogram("orders_saga_step_duration_seconds", "Each saga step's call to another service, by step and outcome.", ["step", "outcome"]),
      });
      runner.start();
      return {
        relay,
        runner,
        async close() {
          // The delivery events first (each a short transaction; one cut off runs again elsewhere, applying nothing
          // twice), then sagas stop at their next step boundary (their state is stored), then the relay publishes
          // what they wrote; the database closes after all of them.
          outage.closing();
          const events = await deliveryEvents.close({ graceMs: settings.shutdownGraceMs });
          connection.disconnect();
          logger.info(`delivery events worker stopped (${events})`);
          await runner.stop();
          await relay.close();
        },
      };
    },
    createApp: (sql, { relay, runner }, observability) =>
      createApp({
        sql,
        clients,
        runner,
        outbox: relay,
        observability,
        checkoutWaitMs: settings.checkoutWaitMs,
        verifier: createUsersVerifier({ usersUrl: settings.usersUrl, logger: observability.logger }),
      }),
  });
}

if (import.meta.main) await main();
