// Starts the BFF: upstream addresses, deadlines, breaker and stale-copy settings from the environment, then serves.
import { BREAKER_DEFAULTS } from "@storefront/shared/circuit-breaker";
import { floatFromEnv, intFromEnv, upstreamFromEnv, urlFromEnv } from "@storefront/shared/config";
import { serveApp } from "@storefront/shared/serve";
import { createUsersVerifier, DEFAULT_USERS_URL } from "@storefront/shared/auth/users-verifier";
import { DEFAULT_QUEUE_PREFIX, DEFAULT_REDIS_URL } from "@storefront/shared/notifications/events";
import { parseTrustedProxies } from "./client-ip.ts";
import { parseOrigins } from "./cors.ts";
import { createRateLimitRedis, createRateLimits, rateLimitPoliciesFromEnv, waitForRedis } from "./middleware/rate-limit.ts";
import { startup } from "@storefront/shared/startup";
import { createQueueCounts } from "@storefront/shared/outbox/queue-counts";
import { startProductsInvalidation } from "./products-invalidation.ts";
import { DEFAULT_STATUS_DEADLINE_MS } from "./status/collect.ts";
import { createApp, DEFAULT_DEADLINES, DEFAULT_PRODUCTS_CACHE, DEFAULT_PRODUCTS_STALE_MAX_MS } from "./app.ts";
import { processHost, type AppHost } from "@storefront/shared/app-host";

/** Starts the app with these settings; `host` is its process (app-host.ts: its own, or bun run dev's). */
export async function main(env: Record<string, string | undefined> = process.env, host: AppHost = processHost) {
  const start = startup("bff", env, host);
  const { observability } = start;
  const settings = start.settings(() => ({
    port: intFromEnv(env, "PORT", 9000),
    urls: {
      products: upstreamFromEnv(env, "PRODUCTS_URL", "http://127.0.0.1:8000"),
      inventory: upstreamFromEnv(env, "INVENTORY_URL", "http://127.0.0.1:8001"),
      favorites: upstreamFromEnv(env, "FAVORITES_URL", "http://127.0.0.1:8002"),
      cart: upstreamFromEnv(env, "CART_URL", "http://127.0.0.1:8003"),
      notifications: upstreamFromEnv(env, "NOTIFICATIONS_URL", "http://127.0.0.1:8004"),
      users: upstreamFromEnv(env, "USERS_URL", DEFAULT_USERS_URL),
      orders: upstreamFromEnv(env, "ORDERS_URL", "http://127.0.0.1:8006"),
      delivery: upstreamFromEnv(env, "DELIVERY_URL", "http://127.0.0.1:8008"),
    },
    corsOrigins: parseOrigins(env.CORS_ORIGINS),
    redisUrl: urlFromEnv(env, "REDIS_URL", DEFAULT_REDIS_URL),
    // Under the deployment's Redis namespace (QUEUE_PREFIX), beside its queues.
    queuePrefix: env.QUEUE_PREFIX || DEFAULT_QUEUE_PREFIX,
    rateLimitPrefix: `${env.QUEUE_PREFIX || DEFAULT_QUEUE_PREFIX}:ratelimit`,
    statusDeadlineMs: intFromEnv(env, "STATUS_DEADLINE_MS", DEFAULT_STATUS_DEADLINE_MS, { min: 1 }),
    rateLimitPolicies: rateLimitPoliciesFromEnv(env),
    trustedProxies: parseTrustedProxies(env.TRUSTED_PROXIES),
    deadlines: {
      productsMs: intFromEnv(env, "PRODUCTS_DEADLINE_MS", DEFAULT_DEADLINES.productsMs, { min: 1 }),
      inventoryMs: intFromEnv(env, "INVENTORY_DEADLINE_MS", DEFAULT_DEADLINES.inventoryMs, { min: 1 }),
      writeMs: intFromEnv(env, "WRITE_DEADLINE_MS", DEFAULT_DEADLINES.writeMs, { min: 1 }),
      checkoutMs: intFromEnv(env, "CHECKOUT_DEADLINE_MS", DEFAULT_DEADLINES.checkoutMs, { min: 1 }),
    },
    breaker: {
      windowMs: intFromEnv(env, "BREAKER_WINDOW_MS", BREAKER_DEFAULTS.windowMs, { min: 10 }),
      minCalls: intFromEnv(env, "BREAKER_MIN_CALLS", BREAKER_DEFAULTS.minCalls, { min: 1 }),
      failureRatio: floatFromEnv(env, "BREAKER_FAILURE_RATIO", BREAKER_DEFAULTS.failureRatio, { min: 0.01, max: 1 }),
      slowCallMs: intFromEnv(env, "BREAKER_SLOW_CALL_MS", BREAKER_DEFAULTS.slowCallMs, { min: 1 }),
      slowCallRatio: floatFromEnv(env, "BREAKER_SLOW_CALL_RATIO", BREAKER_DEFAULTS.slowCallRatio, { min: 0.01, max: 1 }),
      openMs: intFromEnv(env, "BREAKER_OPEN_MS", BREAKER_DEFAULTS.openMs, { min: 1 }),
      halfOpenProbes: intFromEnv(env, "BREAKER_HALF_OPEN_PROBES", BREAKER_DEFAULTS.halfOpenProbes, { min: 1 }),
    },
    productsStaleMaxMs: intFromEnv(env, "PRODUCTS_STALE_MAX_MS", DEFAULT_PRODUCTS_STALE_MAX_MS),
    productsCache: {
      ttlMs: intFromEnv(env, "PRODUCTS_CACHE_TTL_MS", DEFAULT_PRODUCTS_CACHE.ttlMs),
      swrMs: intFromEnv(env, "PRODUCTS_CACHE_SWR_MS", DEFAULT_PRODUCTS_CACHE.swrMs),
    },
  }));
  const { port, redisUrl, queuePrefix, rateLimitPrefix, rateLimitPolicies, trustedProxies, ...deps } = settings;
  const { logger } = observability;
  const verifier = createUsersVerifier({ usersUrl: deps.urls.users, logger });
  const redis = createRateLimitRedis(redisUrl);
  // Built first: it listens to the client's 'error' events, which ioredis would otherwise print as unhandled.
  const rateLimits = createRateLimits({ redis, prefix: rateLimitPrefix, policies: rateLimitPolicies, trustedProxies, logger });
  // Without this wait the first requests after start would count in memory and log an outage for nothing.
  if (!(await waitForRedis(redis, 2000))) logger.warn("rate limits: no Redis at start; counting in memory until it answers");
  // The status page's queue counts, on the same connection (its commands fail fast while Redis is down).
  const queues = createQueueCounts({ connection: redis, prefix: queuePrefix });
  // Its own connection (a subscribed one can send nothing else); Redis down: listings are served, the TTL decides.
  const productChanges = startProductsInvalidation({ redisUrl, prefix: queuePrefix, logger, registry: observability.registry });
  serveApp({
    app: createApp({ ...deps, verifier, rateLimits, observability, queues, productChanges }),
    service: "bff",
    port,
    startup: start,
    // The queues before the connection they use.
    onClose: [() => queues.close(), () => rateLimits.close(), () => productChanges.close()],
  });
}

if (import.meta.main) await main();
