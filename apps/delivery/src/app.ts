// The delivery service: deliveries created and moved by order events (the queue consumer in consumer/), managers
// assigning couriers and couriers marking deliveries done over HTTP. No I/O here; index.ts builds the
// dependencies and runs the consumer and the outbox relay.
import type { Sql } from "postgres";
import type { TokenVerifier } from "@storefront/shared/auth/token-verifier";
import type { Observability } from "@storefront/shared/observability/observability";
import type { OutboxWaker } from "@storefront/shared/outbox/write-event";
import { createServiceApp, databaseReady } from "@storefront/shared/service-app";
import { couriersRoutes } from "./routes/couriers.ts";
import { deliveriesRoutes } from "./routes/deliveries.ts";

/**
 * `verifier`: checks callers' access tokens (admins manage deliveries, couriers complete their own).
 * `outbox`: the running relay, woken after a change wrote an event; without it events wait for a relay's poll.
 */
export type DeliveryDeps = { sql: Sql; verifier: TokenVerifier; outbox?: OutboxWaker; observability?: Observability };

export function createApp({ sql, verifier, outbox, observability }: DeliveryDeps) {
  const app = createServiceApp({ service: "delivery", ready: databaseReady(sql), observability, verifier });
  app.route("/couriers", couriersRoutes(sql, outbox));
  app.route("/deliveries", deliveriesRoutes(sql, outbox));
  return app;
}
