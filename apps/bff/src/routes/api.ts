// The public API: every route a client may call, on one OpenAPIHono, so one registry describes them all
// (openapi.ts turns it into the document). The operational routes (/health, /ready, /metrics) are not in it.
import type { Counter } from "@storefront/shared/observability/metrics";
import type { UpstreamClient } from "@storefront/shared/upstream/client";
import type { ProductsCache } from "../products-cache.ts";
import { BEARER_AUTH, BEARER_SCHEME } from "../openapi/responses.ts";
import { openApiRouter } from "../openapi/router.ts";
import { adminRoutes } from "./admin.ts";
import { adminDeliveriesRoutes } from "./admin-deliveries.ts";
import { adminStatusRoutes } from "./admin-status.ts";
import type { StatusSources } from "../status/collect.ts";
import { authRoutes } from "./auth.ts";
import { cartRoutes } from "./cart.ts";
import { checkoutRoutes } from "./checkout.ts";
import { courierRoutes } from "./courier.ts";
import { favoritesRoutes } from "./favorites.ts";
import { listingRoutes } from "./listing.ts";
import { meRoutes } from "./me.ts";
import { notificationsRoutes } from "./notifications.ts";
import { ordersRoutes } from "./orders.ts";

export type ApiDeps = {
  upstreams: Record<"products" | "inventory" | "cart" | "favorites" | "notifications" | "users" | "orders" | "delivery", UpstreamClient>;
  catalogue: ProductsCache;
  /** writeMs: every forwarded call (deliveries included) but checkout and cancel, which wait on payment and stock (checkoutMs). */
  deadlines: { productsMs: number; inventoryMs: number; writeMs: number; checkoutMs: number };
  degradedTotal?: Counter;
  /** /admin/status's sources, and the inventory client (its own breaker) that the chaos switches go through. */
  status: { sources: StatusSources; inventoryAdmin: UpstreamClient };
};

export function apiRoutes({ upstreams, catalogue, deadlines, degradedTotal, status }: ApiDeps) {
  const { productsMs, inventoryMs, writeMs, checkoutMs } = deadlines;
  const { products, inventory, cart, favorites, notifications, users, orders, delivery } = upstreams;
  const api = openApiRouter()
    .route("/auth", authRoutes(users, writeMs))
    .route("/me", meRoutes(users, writeMs))
    .route("/admin", adminRoutes({ products, inventory }, writeMs, catalogue.drop))
    .route("/admin", adminDeliveriesRoutes(delivery, writeMs))
    .route("/admin", adminStatusRoutes(status.sources, status.inventoryAdmin, writeMs))
    .route("/courier", courierRoutes(delivery, writeMs))
    .route("/products", listingRoutes({ catalogue, inventory, cart, favorites, productsDeadlineMs: productsMs, inventoryDeadlineMs: inventoryMs, degradedTotal }))
    .route("/cart", cartRoutes(cart, writeMs))
    .route("/favorites", favoritesRoutes(favorites, writeMs))
    .route("/notifications", notificationsRoutes(notifications, writeMs))
    .route("/checkout", checkoutRoutes(orders, checkoutMs))
    .route("/orders", ordersRoutes(orders, { readMs: writeMs, cancelMs: checkoutMs }));
  api.openAPIRegistry.registerComponent("securitySchemes", BEARER_AUTH, BEARER_SCHEME);
  return api;
}

export type Api = ReturnType<typeof apiRoutes>;
