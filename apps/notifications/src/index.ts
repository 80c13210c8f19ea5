// Starts the notifications service: settings from the environment, then database and migrations, the queue
// worker, and the HTTP server. On SIGTERM/SIGINT the worker stops taking jobs at once and gets
// SHUTDOWN_GRACE_MS to finish its active ones (then they are aborted and retried later), HTTP drains, the
// connections and the pool close, and the process exits 0. The HTTP side checks callers' tokens against the
// users service's keys (USERS_URL); the worker calls favorites and cart with a service token of its own,
// exchanged at the users service for SERVICE_CLIENT_ID and SERVICE_CLIENT_SECRET.
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { createServiceCredentials } from "@storefront/shared/auth/service-credentials";
import { createUsersVerifier, DEFAULT_USERS_URL } from "@storefront/shared/auth/users-verifier";
import { intFromEnv, upstreamFromEnv, urlFromEnv } from "@storefront/shared/config";
import { connectDatabase } from "@storefront/shared/db/connect";
import { migrate } from "@storefront/shared/db/migrate";
import { DEFAULT_QUEUE_PREFIX, DEFAULT_REDIS_URL, workerRedisOptions } from "@storefront/shared/notifications/events";
import { serveApp } from "@storefront/shared/serve";
import { databaseOptions } from "@storefront/shared/start-database-service";
import { startup } from "@storefront/shared/startup";
import { createUpstreamClient } from "@storefront/shared/upstream/client";
import { createApp } from "./app.ts";
import { createCartClient } from "./clients/cart.ts";
import { createFavoritesClient } from "./clients/favorites.ts";
import { createOutageLog } from "@storefront/shared/observability/redis-outage";
import { createWebhookSender } from "./webhook.ts";
import { createNotificationsWorker, DEFAULT_FAVORITES_PAGE } from "./worker.ts";
import { processHost, type AppHost } from "@storefront/shared/app-host";

/** Starts the app with these settings; `host` is its process (app-host.ts: its own, or bun run dev's). */
export async function main(env: Record<string, string | undefined> = process.env, host: AppHost = processHost) {
  const DAY_MS = 24 * 3600 * 1000;

  const start = startup("notifications", env, host);
  const { observability } = start;
  const { logger } = observability;
  const settings = start.settings(() => {
    const s = {
      port: intFromEnv(env, "PORT", 8004),
      redisUrl: env.REDIS_URL || DEFAULT_REDIS_URL,
      prefix: env.QUEUE_PREFIX || DEFAULT_QUEUE_PREFIX,
      favoritesUrl: upstreamFromEnv(env, "FAVORITES_URL", "http://127.0.0.1:8002"),
      cartUrl: upstreamFromEnv(env, "CART_URL", "http://127.0.0.1:8003"),
      usersUrl: upstreamFromEnv(env, "USERS_URL", DEFAULT_USERS_URL),
      serviceClientId: env.SERVICE_CLIENT_ID || "notifications",
      serviceClientSecret: env.SERVICE_CLIENT_SECRET ?? "",
      favoritesDeadlineMs: intFromEnv(env, "FAVORITES_DEADLINE_MS", 2000, { min: 1 }),
      cartDeadlineMs: intFromEnv(env, "CART_DEADLINE_MS", 2000, { min: 1 }),
      favoritesPageSize: intFromEnv(env, "FAVORITES_PAGE_SIZE", DEFAULT_FAVORITES_PAGE, { min: 1 }),
      concurrency: intFromEnv(env, "WORKER_CONCURRENCY", 20, { min: 1 }),
      reminderDelayMs: intFromEnv(env, "CART_REMINDER_DELAY_MS", DAY_MS, { min: 1 }),
      // Lock duration and stalled-check interval both (BullMQ's default is 30 s): how soon a job whose worker
      // died is picked up again. Tests make it small.
      lockMs: intFromEnv(env, "WORKER_LOCK_MS", 30_000, { min: 100 }),
      shutdownGraceMs: intFromEnv(env, "SHUTDOWN_GRACE_MS", 10_000),
      webhookUrl: env.NOTIFY_WEBHOOK_URL ? urlFromEnv(env, "NOTIFY_WEBHOOK_URL", "") : undefined,
      webhookSecret: env.NOTIFY_WEBHOOK_SECRET ?? "",
      webhookDeadlineMs: intFromEnv(env, "NOTIFY_WEBHOOK_DEADLINE_MS", 5000, { min: 1 }),
    };
    if (s.favoritesPageSize > 1000) throw new Error(`FAVORITES_PAGE_SIZE must be at most 1000 (the favorites service's largest page), got ${s.favoritesPageSize}`);
    if (!s.serviceClientSecret) {
      throw new Error("SERVICE_CLIENT_SECRET is required: the worker exchanges it at the users service for the service token it calls favorites and cart with");
    }
    if (s.webhookUrl && !s.webhookSecret) throw new Error("NOTIFY_WEBHOOK_SECRET is required when NOTIFY_WEBHOOK_URL is set (deliveries are signed with it)");
    return s;
  });

  const db = await connectDatabase(databaseOptions(start, "notifications", env.NOTIFICATIONS_DATABASE_URL, env.NOTIFICATIONS_DATA_DIR)).catch((err) =>
    start.fail("the database does not answer", err),
  );
  await migrate(db.sql, fileURLToPath(new URL("./db/migrations", import.meta.url))).catch((err) => start.fail("applying the migrations failed", err));

  const connection = new Redis(...workerRedisOptions(settings.redisUrl));
  // ioredis reconnects by itself (retryStrategy); log the outage rather than let it print as unhandled.
  const outage = createOutageLog(logger);
  connection.on("error", outage.onError("redis connection"));
  connection.on("ready", outage.onReady);

  // The worker's own identity: one users client for its token exchanges (the HTTP side's verifier has its own).
  const users = createUpstreamClient("users", settings.usersUrl, {
    breaker: { onStateChange: (change) => logger.warn("circuit breaker state change", change) },
  });
  const credentials = createServiceCredentials({ users, clientId: settings.serviceClientId, clientSecret: settings.serviceClientSecret });

  const { webhookUrl, webhookSecret } = settings;
  const notifications = createNotificationsWorker({
    connection,
    prefix: settings.prefix,
    concurrency: settings.concurrency,
    sql: db.sql,
    favorites: createFavoritesClient({ baseUrl: settings.favoritesUrl, deadlineMs: settings.favoritesDeadlineMs, credentials }),
    cart: createCartClient({ baseUrl: settings.cartUrl, deadlineMs: settings.cartDeadlineMs, credentials }),
    webhook: webhookUrl ? createWebhookSender({ url: webhookUrl, secret: webhookSecret, deadlineMs: settings.webhookDeadlineMs }) : undefined,
    reminderDelayMs: settings.reminderDelayMs,
    favoritesPageSize: settings.favoritesPageSize,
    lockDurationMs: settings.lockMs,
    stalledIntervalMs: settings.lockMs,
    logger,
    outage,
    redisReady: () => connection.status === "ready",
  });
  notifications.worker.on("ready", () => logger.info("worker ready", { prefix: settings.prefix, concurrency: settings.concurrency, webhook: Boolean(webhookUrl) }));

  let stopping: Promise<void> | undefined;
  const stopWorker = () =>
    (stopping ??= notifications.close({ graceMs: settings.shutdownGraceMs }).then((outcome) => logger.info(`worker stopped (${outcome})`)));
  // Registered before serveApp's own handlers, so the worker stops taking jobs while HTTP is still draining.
  host.onStop(() => void stopWorker());

  serveApp({
    app: createApp({ sql: db.sql, observability, verifier: createUsersVerifier({ usersUrl: settings.usersUrl, logger }) }),
    service: "notifications",
    port: settings.port,
    startup: start,
    onClose: [stopWorker, () => connection.disconnect(), db.close],
  });
}

if (import.meta.main) await main();
