// The products service: the catalogue. No I/O here; index.ts builds the dependencies.
import type { Sql } from "postgres";
import { createServiceApp, databaseReady } from "@storefront/shared/service-app";
import { productsRoutes } from "./routes/products.ts";

export type ProductsDeps = { sql: Sql };

export function createApp({ sql }: ProductsDeps) {
  const app = createServiceApp({ service: "products", ready: databaseReady(sql) });
  app.route("/products", productsRoutes(sql));
  return app;
}
