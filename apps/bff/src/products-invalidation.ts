// Hears product.changed on Redis pub/sub (the products relay PUBLISHes it on <prefix>:events:product.changed)
// and drops this BFF's products cache, so a change made anywhere shows on every replica within milliseconds
// rather than after the TTL. Pub/sub, not a queue: replicas come and go, and one that starts later has nothing
// to drop. Nothing is kept for a listener that is away, so every time the subscription is (re)established the
// cache is dropped once (a change may have been missed meanwhile). With Redis down the BFF serves as before,
// the cache's TTL being the backstop, and the outage is logged once. ioredis is loaded anyway (rate limits).
import { Redis } from "ioredis";
import { broadcastChannel } from "@storefront/shared/notifications/events";
import type { Logger } from "@storefront/shared/observability/logger";
import type { Registry } from "@storefront/shared/observability/metrics";
import { createOutageLog } from "@storefront/shared/observability/redis-outage";

/** What the app needs: a way to be told "drop your products cache". index.ts builds it; tests may pass their own. */
export type ProductChangeFeed = { onChange(drop: () => void): void };

export type ProductsInvalidation = ProductChangeFeed & {
  /** True while subscribed: changes are being heard. */
  readonly subscribed: boolean;
  close(): Promise<void>;
};

export const INVALIDATIONS_COUNTER = "bff_products_cache_invalidations_total";

const OUTAGE_WORDS = {
  waiting: "the products cache does not hear of product changes; other replicas' changes show after its TTL",
  resumed: "subscribed to product changes again (the products cache was dropped once)",
};

export function startProductsInvalidation(options: { redisUrl: string; prefix: string; logger: Logger; registry: Registry }): ProductsInvalidation {
  const { redisUrl, prefix, logger, registry } = options;
  const channel = broadcastChannel(prefix, "product.changed");
  const received = registry.counter(
    INVALIDATIONS_COUNTER,
    "Drops of the products cache: on a product.changed heard (product_changed, or unreadable for a message that did not parse), and on each (re)subscription (subscribed).",
    ["reason"],
  );
  const listeners = new Set<() => void>();
  const dropAll = (reason: "product_changed" | "unreadable" | "subscribed") => {
    received.inc([reason]);
    for (const drop of listeners) drop();
  };

  const connection = new Redis(redisUrl, {
    // Subscribing again is ours to do (below), so the drop can follow the server's confirmation.
    autoResubscribe: false,
    // Commands only ever go out on 'ready'; one cut off by a disconnect is retried on the next 'ready'.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    connectionName: "bff-products-invalidation",
  });
  const outage = createOutageLog(logger, OUTAGE_WORDS);
  let subscribed = false;
  let closed = false;
  connection.on("error", outage.onError("products invalidation"));
  connection.on("close", () => {
    subscribed = false;
  });
  connection.on("ready", () => {
    connection.subscribe(channel).then(
      () => {
        if (closed) return;
        subscribed = true;
        outage.onReady();
        // After the confirmation: a change published from here on is heard; one before it may have been missed.
        dropAll("subscribed");
      },
      (err) => logger.warn("products invalidation: subscribing failed; retried on the next connection", { error: String(err) }),
    );
  });
  connection.on("message", (from: string, message: string) => {
    if (from !== channel || closed) return;
    // Whatever arrived on this channel says something changed: drop even when it cannot be read.
    let productId: unknown;
    try {
      productId = (JSON.parse(message) as { payload?: { product_id?: unknown } }).payload?.product_id;
    } catch {
      productId = undefined;
    }
    if (typeof productId !== "number") {
      logger.warn("products invalidation: unreadable message; dropped the products cache anyway", { message: message.slice(0, 200) });
      return dropAll("unreadable");
    }
    logger.debug("product changed: products cache dropped", { product_id: productId });
    dropAll("product_changed");
  });

  return {
    onChange: (drop) => void listeners.add(drop),
    get subscribed() {
      return subscribed;
    },
    async close() {
      closed = true;
      outage.closing();
      listeners.clear();
      connection.disconnect();
    },
  };
}
