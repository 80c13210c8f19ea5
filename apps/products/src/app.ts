// The products service: the catalogue. No I/O here; index.ts builds the dependencies.
import type { Sql } from "postgres";
import type { OutboxWaker } from "@storefront/shared/outbox/write-event";
import type { Observability } from "@storefront/shared/observability/observability";
import { createServiceApp, databaseReady } from "@storefront/shared/service-app";
import { productsRoutes } from "./routes/products.ts";

/** `outbox`: the running relay, woken after a change wrote an event; without it events wait for a relay's poll. */
export type ProductsDeps = { sql: Sql; outbox?: OutboxWaker; observability?: Observability };

export function createApp({ sql, outbox, observability }: ProductsDeps) {
  const app = createServiceApp({ service: "products", ready: databaseReady(sql), observability });
  app.route("/products", productsRoutes(sql, outbox));
  return app;
}
