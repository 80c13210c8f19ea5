// Starts the BFF: upstream addresses, deadlines, breaker and stale-copy settings from the environment, then serves.
import { BREAKER_DEFAULTS } from "@storefront/shared/circuit-breaker";
import { floatFromEnv, intFromEnv, urlFromEnv } from "@storefront/shared/config";
import { serveApp } from "@storefront/shared/serve";
import { startup } from "@storefront/shared/startup";
import { createApp, DEFAULT_DEADLINES, DEFAULT_PRODUCTS_CACHE, DEFAULT_PRODUCTS_STALE_MAX_MS } from "./app.ts";

const env = process.env;
const start = startup("bff", env);
const { observability } = start;
const settings = start.settings(() => ({
  port: intFromEnv(env, "PORT", 9000),
  urls: {
    products: urlFromEnv(env, "PRODUCTS_URL", "http://127.0.0.1:8000"),
    inventory: urlFromEnv(env, "INVENTORY_URL", "http://127.0.0.1:8001"),
    favorites: urlFromEnv(env, "FAVORITES_URL", "http://127.0.0.1:8002"),
    cart: urlFromEnv(env, "CART_URL", "http://127.0.0.1:8003"),
    notifications: urlFromEnv(env, "NOTIFICATIONS_URL", "http://127.0.0.1:8004"),
  },
  deadlines: {
    productsMs: intFromEnv(env, "PRODUCTS_DEADLINE_MS", DEFAULT_DEADLINES.productsMs, { min: 1 }),
    inventoryMs: intFromEnv(env, "INVENTORY_DEADLINE_MS", DEFAULT_DEADLINES.inventoryMs, { min: 1 }),
    writeMs: intFromEnv(env, "WRITE_DEADLINE_MS", DEFAULT_DEADLINES.writeMs, { min: 1 }),
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
const { port, ...deps } = settings;
serveApp({ app: createApp({ ...deps, observability }), service: "bff", port, observability });
