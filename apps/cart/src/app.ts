// The cart service: each user's cart lines (product and quantity). No I/O here; index.ts builds the dependencies.
import type { Sql } from "postgres";
import { createServiceApp, databaseReady } from "@storefront/shared/service-app";
import { cartRoutes } from "./routes/cart.ts";

export type CartDeps = { sql: Sql };

export function createApp({ sql }: CartDeps) {
  const app = createServiceApp({ service: "cart", ready: databaseReady(sql) });
  app.route("/users", cartRoutes(sql));
  return app;
}
