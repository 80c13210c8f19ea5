// The favorites service: which products each user has marked. No I/O here; index.ts builds the dependencies.
import type { Sql } from "postgres";
import type { Observability } from "@storefront/shared/observability/observability";
import { createServiceApp, databaseReady } from "@storefront/shared/service-app";
import { favoritedByRoutes } from "./routes/favorited-by.ts";
import { favoritesRoutes } from "./routes/favorites.ts";

export type FavoritesDeps = { sql: Sql; observability?: Observability };

export function createApp({ sql, observability }: FavoritesDeps) {
  const app = createServiceApp({ service: "favorites", ready: databaseReady(sql), observability });
  app.route("/users", favoritesRoutes(sql));
  app.route("/products", favoritedByRoutes(sql));
  return app;
}
