// The products service: the catalogue. No I/O here; index.ts builds the dependencies.
import type { Sql } from "postgres";
import type { TokenVerifier } from "@storefront/shared/auth/token-verifier";
import type { OutboxWaker } from "@storefront/shared/outbox/write-event";
import type { Observability } from "@storefront/shared/observability/observability";
import { createServiceApp, databaseReady } from "@storefront/shared/service-app";
import { productsRoutes } from "./routes/products.ts";

/**
 * `verifier`: checks callers' access tokens (reads are public, edits are for admins).
 * `outbox`: the running relay, woken after a change wrote an event; without it events wait for a relay's poll.
 */
export type ProductsDeps = { sql: Sql; verifier: TokenVerifier; outbox?: OutboxWaker; observability?: Observability };

export function createApp({ sql, verifier, outbox, observability }: ProductsDeps) {
  const app = createServiceApp({ service: "products", ready: databaseReady(sql), observability, verifier });
  app.route("/products", productsRoutes(sql, outbox));
  return app;
}
