// The inventory service: stock levels per product, and reservations of stock for orders. No I/O here; index.ts
// builds the dependencies (and runs the sweeper that expires reservations).
import type { Sql } from "postgres";
import type { TokenVerifier } from "@storefront/shared/auth/token-verifier";
import type { OutboxWaker } from "@storefront/shared/outbox/write-event";
import type { Observability } from "@storefront/shared/observability/observability";
import { createServiceApp, databaseReady } from "@storefront/shared/service-app";
import { chaos as chaosMiddleware, type ChaosOptions } from "@storefront/shared/chaos";
import { inventoryRoutes } from "./routes/inventory.ts";
import { DEFAULT_RESERVATION_TTL_MS, reservationRoutes } from "./routes/reservations.ts";

/**
 * `verifier`: checks callers' access tokens (reads are public, setting stock is for admins, reservations are for
 *   services and admins).
 * `outbox`: the running relay, woken after a change wrote an event; without it events wait for a relay's poll.
 * `reservationTtlMs`: how long a reservation holds its stock before it expires (default 15 minutes).
 */
export type InventoryDeps = {
  sql: Sql;
  verifier: TokenVerifier;
  chaos?: ChaosOptions;
  outbox?: OutboxWaker;
  observability?: Observability;
  reservationTtlMs?: number;
};

export function createApp({ sql, verifier, chaos, outbox, observability, reservationTtlMs = DEFAULT_RESERVATION_TTL_MS }: InventoryDeps) {
  const app = createServiceApp({ service: "inventory", ready: databaseReady(sql), observability, verifier });
  if (chaos) {
    // Only the data routes: /health and /ready must stay honest while the demo makes data slow or flaky.
    const knobs = chaosMiddleware(chaos);
    app.use("/inventory", knobs);
    app.use("/products/*", knobs);
  }
  app.route("/", inventoryRoutes(sql, outbox));
  // Not under the demo knobs: they are for the storefront's reads and the admin's writes, not the saga's calls.
  app.route("/reservations", reservationRoutes(sql, { ttlMs: reservationTtlMs, outbox }));
  return app;
}
