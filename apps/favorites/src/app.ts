// The favorites service: which products each user has marked. No I/O here; index.ts builds the dependencies.
import type { Sql } from "postgres";
import type { TokenVerifier } from "@storefront/shared/auth/token-verifier";
import type { Observability } from "@storefront/shared/observability/observability";
import { createServiceApp, databaseReady } from "@storefront/shared/service-app";
import { favoritedByRoutes } from "./routes/favorited-by.ts";
import { favoritesRoutes } from "./routes/favorites.ts";

/**
 * `verifier`: checks callers' access tokens (a customer reaches only their own favorites; admins and services
 * any; who favorited a product is for services and admins only).
 */
export type FavoritesDeps = { sql: Sql; verifier: TokenVerifier; observability?: Observability };

export function createApp({ sql, verifier, observability }: FavoritesDeps) {
  const app = createServiceApp({ service: "favorites", ready: databaseReady(sql), observability, verifier });
  app.route("/users", favoritesRoutes(sql));
  app.route("/products", favoritedByRoutes(sql));
  return app;
}
