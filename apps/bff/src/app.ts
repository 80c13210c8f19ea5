// The BFF: the clients' single entry point. No I/O here; index.ts reads the config.
import { BREAKER_DEFAULTS, type BreakerOptions } from "@storefront/shared/circuit-breaker";
import { createObservability, type Observability } from "@storefront/shared/observability/observability";
import { createServiceApp } from "@storefront/shared/service-app";
import { createUpstreamClient, DEFAULT_RETRY, type FetchFn, type RetryPolicy } from "@storefront/shared/upstream/client";
import { userId, type UserVariables } from "./middleware/user-id.ts";
import { cartRoutes } from "./routes/cart.ts";
import { favoritesRoutes } from "./routes/favorites.ts";
import { listingRoutes } from "./routes/listing.ts";
import { notificationsRoutes } from "./routes/notifications.ts";
import { createProductsCache } from "./products-cache.ts";

export type BffDeps = {
  urls: { products: string; inventory: string; cart: string; favorites: string; notifications: string };
  deadlines?: Partial<{ productsMs: number; inventoryMs: number; writeMs: number }>;
  /** Settings shared by the four upstreams' breakers. */
  breaker?: Partial<typeof BREAKER_DEFAULTS>;
  retry?: RetryPolicy;
  /** How old a products copy may be and still be served when products fails. */
  productsStaleMaxMs?: number;
  /** Products cache: fresh for ttlMs (no call), then served for swrMs more while refreshed in the background. */
  productsCache?: { ttlMs: number; swrMs: number };
  /** Defaults to the global fetch, read at call time. */
  fetch?: FetchFn;
  /** Clock for breakers and the stale copy; tests pass a fake one. Deadlines use real timers. */
  now?: () => number;
  onBreakerChange?: BreakerOptions["onStateChange"];
  /** Logger and metrics registry; index.ts passes the real ones, tests get silent defaults. */
  observability?: Observability;
};

export const DEFAULT_DEADLINES = { productsMs: 1000, inventoryMs: 1000, writeMs: 2000 };
export const DEFAULT_PRODUCTS_STALE_MAX_MS = 5 * 60_000;
export const DEFAULT_PRODUCTS_CACHE = { ttlMs: 1000, swrMs: 5000 };

export function createApp(deps: BffDeps) {
  const { productsMs, inventoryMs, writeMs } = { ...DEFAULT_DEADLINES, ...deps.deadlines };
  const obs = deps.observability ?? createObservability("bff");
  const logBreaker: BreakerOptions["onStateChange"] = (change) => obs.logger.warn("circuit breaker state change", change);
  const upstreamOptions = {
    fetch: deps.fetch,
    retry: deps.retry ?? DEFAULT_RETRY,
    breaker: { ...deps.breaker, now: deps.now, onStateChange: deps.onBreakerChange ?? logBreaker },
    duration: obs.registry.histogram("bff_upstream_request_duration_seconds", "Upstream call latency in seconds (retries included), by upstream and outcome.", [
      "upstream",
      "outcome",
    ]),
  };
  // One client (and one breaker) per upstream for the life of the process.
  const products = createUpstreamClient("products", deps.urls.products, upstreamOptions);
  const inventory = createUpstreamClient("inventory", deps.urls.inventory, upstreamOptions);
  const cart = createUpstreamClient("cart", deps.urls.cart, upstreamOptions);
  const favorites = createUpstreamClient("favorites", deps.urls.favorites, upstreamOptions);
  const notifications = createUpstreamClient("notifications", deps.urls.notifications, upstreamOptions);
  const upstreams = [products, inventory, cart, favorites, notifications];
  obs.registry.gauge("bff_circuit_breaker_state", "1 for each upstream's current breaker state, 0 for the others.", ["upstream", "state"], function* () {
    for (const u of upstreams) {
      const state = u.breaker.state;
      for (const s of ["closed", "open", "half_open"] as const) yield [[u.name, s], s === state ? 1 : 0];
    }
  });
  const degradedTotal = obs.registry.counter("bff_listing_degraded_total", "Listings answered without a part, by the part dropped or served stale.", ["part"]);
  const cacheWindows = deps.productsCache ?? DEFAULT_PRODUCTS_CACHE;
  const catalogue = createProductsCache({
    products,
    ttlMs: cacheWindows.ttlMs,
    swrMs: cacheWindows.swrMs,
    staleMaxMs: deps.productsStaleMaxMs ?? DEFAULT_PRODUCTS_STALE_MAX_MS,
    refreshDeadlineMs: productsMs,
    now: deps.now,
  });

  // The BFF depends on its upstreams per request, not to be up: it is ready as soon as it listens.
  const app = createServiceApp<UserVariables>({ service: "bff", ready: async () => {}, observability: obs });
  app.get("/health/upstreams", (c) => c.json({ upstreams: upstreams.map((u) => u.breaker.snapshot()) }));
  // "/x/*" also matches "/x".
  for (const path of ["/products/*", "/cart/*", "/favorites/*", "/notifications/*"]) app.use(path, userId());
  app.route("/products", listingRoutes({ catalogue, inventory, cart, favorites, productsDeadlineMs: productsMs, inventoryDeadlineMs: inventoryMs, degradedTotal }));
  app.route("/cart", cartRoutes(cart, writeMs));
  app.route("/favorites", favoritesRoutes(favorites, writeMs));
  app.route("/notifications", notificationsRoutes(notifications, writeMs));
  return app;
}
