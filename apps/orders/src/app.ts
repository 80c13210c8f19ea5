// The orders service: orders, their persisted sagas and checkout's idempotency keys. No I/O here; index.ts
// builds the dependencies (the database, the saga runner, the clients of the services the saga calls).
import type { Sql } from "postgres";
import type { TokenVerifier } from "@storefront/shared/auth/token-verifier";
import type { OutboxWaker } from "@storefront/shared/outbox/write-event";
import { createObservability, type Observability } from "@storefront/shared/observability/observability";
import { createServiceApp, databaseReady } from "@storefront/shared/service-app";
import { createCheckout } from "./checkout.ts";
import type { OrdersClients } from "./clients.ts";
import { ordersRoutes } from "./routes/orders.ts";
import type { SagaRunner } from "./saga/runner.ts";

export const DEFAULT_CHECKOUT_WAIT_MS = 2000;

export type OrdersDeps = {
  sql: Sql;
  verifier: TokenVerifier;
  clients: OrdersClients;
  runner: SagaRunner;
  /** How long POST /orders and cancel wait for the saga before answering 202. */
  checkoutWaitMs?: number;
  outbox?: OutboxWaker;
  observability?: Observability;
  now?: () => number;
};

export function createApp({ sql, verifier, clients, runner, checkoutWaitMs = DEFAULT_CHECKOUT_WAIT_MS, outbox, observability, now = Date.now }: OrdersDeps) {
  const obs = observability ?? createObservability("orders");
  const app = createServiceApp({ service: "orders", ready: databaseReady(sql), observability: obs, verifier });
  const checkout = createCheckout({ sql, clients, runner, outbox, waitMs: checkoutWaitMs, logger: obs.logger });
  app.route("/users", ordersRoutes({ sql, checkout, runner, waitMs: checkoutWaitMs, now }));
  return app;
}
