// The favorites service: which products each user has marked. No I/O here; index.ts builds the dependencies.
import type { Sql } from "postgres";
import { createServiceApp, databaseReady } from "@storefront/shared/service-app";
import { favoritedByRoutes } from "./routes/favorited-by.ts";
import { favoritesRoutes } from "./routes/favorites.ts";

export type FavoritesDeps = { sql: Sql };

export function createApp({ sql }: FavoritesDeps) {
  const app = createServiceApp({ service: "favorites", ready: databaseReady(sql) });
  app.route("/users", favoritesRoutes(sql));
  app.route("/products", favoritedByRoutes(sql));
  return app;
}
