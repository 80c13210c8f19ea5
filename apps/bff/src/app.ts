// The BFF: the clients' single entry point. No I/O here; index.ts reads the config.
import { BREAKER_DEFAULTS, type BreakerOptions } from "@storefront/shared/circuit-breaker";
import { createObservability, type Observability } from "@storefront/shared/observability/observability";
import { createServiceApp } from "@storefront/shared/service-app";
import { createUpstreamClient, DEFAULT_RETRY, type FetchFn, type RetryPolicy } from "@storefront/shared/upstream/client";
import type { MiddlewareHandler } from "hono";
import type { TokenVerifier } from "@storefront/shared/auth/token-verifier";
import { corsFor } from "./cors.ts";
import { openApiDocument } from "./openapi.ts";
import { apiRoutes } from "./routes/api.ts";
import { docsRoutes } from "./routes/docs.ts";
import { createProductsCache } from "./products-cache.ts";
import type { ProductChangeFeed } from "./products-invalidation.ts";
import type { QueueCountsReader } from "@storefront/shared/outbox/queue-counts";
import { DEFAULT_STATUS_DEADLINE_MS } from "./status/collect.ts";

export type BffDeps = {
  urls: { products: string; inventory: string; cart: string; favorites: string; notifications: string; users: string; orders: string; delivery: string };
  /** Checks access tokens (the users service's keys); index.ts builds it, tests pass a test issuer's. */
  verifier: TokenVerifier;
  /** Origins whose browsers may call the BFF; none by default (same origin only). */
  corsOrigins?: readonly string[];
  /** Rate limits (middleware/rate-limit.ts), built by index.ts on Redis; none in tests that do not test them. */
  rateLimits?: { general: MiddlewareHandler; auth: MiddlewareHandler };
  /**
   * writeMs bounds every forwarded call (reads of carts and orders included) but POST /checkout and an order's
   * cancel, which wait on payment and stock: checkoutMs, above the orders service's own wait (CHECKOUT_WAIT_MS).
   */
  deadlines?: Partial<{ productsMs: number; inventoryMs: number; writeMs: number; checkoutMs: number }>;
  /** Settings shared by the upstreams' breakers (each upstream has its own). */
  breaker?: Partial<typeof BREAKER_DEFAULTS>;
  retry?: RetryPolicy;
  /** How old a products copy may be and still be served when products fails. */
  productsStaleMaxMs?: number;
  /** Products cache: fresh for ttlMs (no call), then served for swrMs more while refreshed in the background. */
  productsCache?: { ttlMs: number; swrMs: number };
  /** Product changes made anywhere (index.ts: products-invalidation.ts on Redis); each drops the products cache. */
  productChanges?: ProductChangeFeed;
  /** Defaults to the global fetch, read at call time. */
  fetch?: FetchFn;
  /** Clock for breakers and the stale copy; tests pass a fake one. Deadlines use real timers. */
  now?: () => number;
  onBreakerChange?: BreakerOptions["onStateChange"];
  /** Logger and metrics registry; index.ts passes the real ones, tests get silent defaults. */
  observability?: Observability;
  /** The event queues /admin/status counts, on the BFF's Redis (index.ts); without it they are null and redis "down". */
  queues?: QueueCountsReader;
  /** How long /admin/status waits for each of its remote parts (queues, Redis, each service's /metrics). */
  statusDeadlineMs?: number;
};

export const DEFAULT_DEADLINES = { productsMs: 1000, inventoryMs: 1000, writeMs: 2000, checkoutMs: 5000 };
export const DEFAULT_PRODUCTS_STALE_MAX_MS = 5 * 60_000;
export const DEFAULT_PRODUCTS_CACHE = { ttlMs: 1000, swrMs: 5000 };

export function createApp(deps: BffDeps) {
  const { productsMs, inventoryMs, writeMs, checkoutMs } = { ...DEFAULT_DEADLINES, ...deps.deadlines };
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
  const users = createUpstreamClient("users", deps.urls.users, upstreamOptions);
  // A checkout is slow by design (orders waits up to its CHECKOUT_WAIT_MS for payment and stock), so the shared
  // slow-call threshold would open this breaker on a run of healthy checkouts. Orders' calls count as slow only
  // past checkoutMs, where they have timed out anyway: its breaker opens on failures and timeouts.
  const ordersSlowCallMs = Math.max(deps.breaker?.slowCallMs ?? BREAKER_DEFAULTS.slowCallMs, checkoutMs);
  const orders = createUpstreamClient("orders", deps.urls.orders, { ...upstreamOptions, breaker: { ...upstreamOptions.breaker, slowCallMs: ordersSlowCallMs } });
  const delivery = createUpstreamClient("delivery", deps.urls.delivery, upstreamOptions);
  const upstreams = [products, inventory, cart, favorites, notifications, users, orders, delivery];
  // The status page's switches: not retried, and behind a breaker of their own (see admin-status.ts).
  const inventoryAdmin = createUpstreamClient("inventory-admin", deps.urls.inventory, { fetch: deps.fetch, retry: null, breaker: upstreamOptions.breaker });
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
  deps.productChanges?.onChange(catalogue.drop);

  // The BFF depends on its upstreams per request, not to be up: it is ready as soon as it listens.
  const app = createServiceApp({
    service: "bff",
    ready: async () => {},
    observability: obs,
    verifier: deps.verifier,
    edge: deps.corsOrigins?.length ? [corsFor(deps.corsOrigins)] : [],
    // Getting a token must work for a client that still sends its expired one.
    anonymousPaths: ["/auth/login", "/auth/register", "/auth/refresh"],
  });
  app.get("/health/upstreams", (c) => c.json({ upstreams: upstreams.map((u) => u.breaker.snapshot()) }));
  if (deps.rateLimits) {
    // The stricter limits on guessing passwords and making accounts; the general one on every public route.
    app.use("/auth/login", deps.rateLimits.auth);
    app.use("/auth/register", deps.rateLimits.auth);
    for (const path of ["/auth/*", "/me", "/products/*", "/cart/*", "/favorites/*", "/notifications/*", "/checkout", "/orders/*", "/admin/*", "/courier/*"]) app.use(path, deps.rateLimits.general);
  }
  const api = apiRoutes({
    upstreams: { products, inventory, cart, favorites, notifications, users, orders, delivery },
    catalogue,
    deadlines: { productsMs, inventoryMs, writeMs, checkoutMs },
    degradedTotal,
    status: {
      inventoryAdmin,
      sources: {
        upstreams,
        duration: upstreamOptions.duration,
        queues: deps.queues,
        // The services that run an outbox relay.
        outboxServices: { products: deps.urls.products, inventory: deps.urls.inventory, cart: deps.urls.cart, orders: deps.urls.orders, delivery: deps.urls.delivery },
        fetch: deps.fetch ?? ((input, init) => fetch(input, init)),
        deadlineMs: deps.statusDeadlineMs ?? DEFAULT_STATUS_DEADLINE_MS,
      },
    },
  });
  app.route("/", api);
  // Built on first request, then kept: the routes do not change while the process runs.
  let document: ReturnType<typeof openApiDocument> | undefined;
  app.route("/", docsRoutes(() => (document ??= openApiDocument(api))));
  return app;
}
