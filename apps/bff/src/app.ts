// The BFF: the clients' single entry point. No I/O here; index.ts reads the config.
import { createServiceApp } from "@storefront/shared/service-app";
import { userId, type UserVariables } from "./middleware/user-id.ts";
import { cartRoutes } from "./routes/cart.ts";
import { favoritesRoutes } from "./routes/favorites.ts";
import { listingRoutes } from "./routes/listing.ts";
import { createUpstream, type FetchFn } from "./upstream.ts";

export type BffDeps = {
  urls: { products: string; inventory: string; cart: string; favorites: string };
  deadlines?: Partial<{ productsMs: number; inventoryMs: number; writeMs: number }>;
  /** Defaults to the global fetch, read at call time. */
  fetch?: FetchFn;
};

export const DEFAULT_DEADLINES = { productsMs: 1000, inventoryMs: 1000, writeMs: 2000 };

export function createApp({ urls, deadlines, fetch }: BffDeps) {
  const { productsMs, inventoryMs, writeMs } = { ...DEFAULT_DEADLINES, ...deadlines };
  // One client per upstream for the life of the process.
  const products = createUpstream("products", urls.products, fetch);
  const inventory = createUpstream("inventory", urls.inventory, fetch);
  const cart = createUpstream("cart", urls.cart, fetch);
  const favorites = createUpstream("favorites", urls.favorites, fetch);

  // The BFF depends on its upstreams per request, not to be up: it is ready as soon as it listens.
  const app = createServiceApp<{ Variables: UserVariables }>({ service: "bff", ready: async () => {} });
  // "/x/*" also matches "/x".
  for (const path of ["/products/*", "/cart/*", "/favorites/*"]) app.use(path, userId());
  app.route("/products", listingRoutes({ products, inventory, cart, favorites, productsDeadlineMs: productsMs, inventoryDeadlineMs: inventoryMs }));
  app.route("/cart", cartRoutes(cart, writeMs));
  app.route("/favorites", favoritesRoutes(favorites, writeMs));
  return app;
}
