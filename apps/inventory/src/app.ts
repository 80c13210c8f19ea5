// The inventory service: stock levels per product, and reservations of stock for orders. No I/O here; index.ts
// builds the dependencies (and runs the sweeper that expires reservations). With `chaosSwitches` (development
// only: INVENTORY_CHAOS_SWITCHES=1) the demo knobs can be read and changed by admins at /admin/chaos.
import type { Sql } from "postgres";
import type { TokenVerifier } from "@storefront/shared/auth/token-verifier";
import type { OutboxWaker } from "@storefront/shared/outbox/write-event";
import type { Observability } from "@storefront/shared/observability/observability";
import { createServiceApp, databaseReady } from "@storefront/shared/service-app";
import { chaos as chaosMiddleware, createChaosSettings, type ChaosOptions } from "@storefront/shared/chaos";
import { adminChaosRoutes } from "./routes/admin-chaos.ts";
import { inventoryRoutes } from "./routes/inventory.ts";
import { DEFAULT_RESERVATION_TTL_MS, reservationRoutes } from "./routes/reservations.ts";

/**
 * `verifier`: checks callers' access tokens (reads are public, setting stock is for admins, reservations are for
 *   services and admins).
 * `outbox`: the running relay, woken after a change wrote an event; without it events wait for a relay's poll.
 * `reservationTtlMs`: how long a reservation holds its stock before it expires (default 15 minutes).
 * `chaosSwitches`: mounts GET/PUT /admin/chaos (admins), which change the demo knobs for the next request;
 *   without it that path is a 404 and the knobs stay as `chaos` set them.
 */
export type InventoryDeps = {
  sql: Sql;
  verifier: TokenVerifier;
  chaos?: ChaosOptions;
  outbox?: OutboxWaker;
  observability?: Observability;
  reservationTtlMs?: number;
  chaosSwitches?: boolean;
};

export function createApp({ sql, verifier, chaos, outbox, observability, reservationTtlMs = DEFAULT_RESERVATION_TTL_MS, chaosSwitches = false }: InventoryDeps) {
  const app = createServiceApp({ service: "inventory", ready: databaseReady(sql), observability, verifier });
  if (chaos || chaosSwitches) {
    // Only the data routes: /health, /ready and /metrics must stay honest while the demo makes data slow or flaky.
    const settings = chaos?.settings ?? createChaosSettings({ delayMs: chaos?.delayMs, failRate: chaos?.failRate });
    const failRateName = chaosSwitches ? `${chaos?.failRateName ?? "INVENTORY_FAIL_RATE"} or PUT /admin/chaos` : chaos?.failRateName;
    const knobs = chaosMiddleware({ ...chaos, failRateName, settings });
    app.use("/inventory", knobs);
    app.use("/products/*", knobs);
    if (chaosSwitches) app.route("/admin/chaos", adminChaosRoutes(settings, observability?.logger));
  }
  app.route("/", inventoryRoutes(sql, outbox));
  // Not under the demo knobs: they are for the storefront's reads and the admin's writes, not the saga's calls.
  app.route("/reservations", reservationRoutes(sql, { ttlMs: reservationTtlMs, outbox }));
  return app;
}
