// The cart service: each user's cart lines (product and quantity), and taking an order's lines out at checkout. No I/O
// here; index.ts builds the dependencies.
import type { Sql } from "postgres";
import type { TokenVerifier } from "@storefront/shared/auth/token-verifier";
import type { OutboxWaker } from "@storefront/shared/outbox/write-event";
import type { Observability } from "@storefront/shared/observability/observability";
import { createServiceApp, databaseReady } from "@storefront/shared/service-app";
import { cartClearRoutes } from "./routes/cart-clear.ts";
import { cartRoutes } from "./routes/cart.ts";

/**
 * `verifier`: checks callers' access tokens (a customer reaches only their own cart; admins and services any;
 *   clearing an order's lines is for services and admins only).
 * `outbox`: the running relay, woken after a change wrote an event; without it events wait for a relay's poll.
 */
export type CartDeps = { sql: Sql; verifier: TokenVerifier; outbox?: OutboxWaker; observability?: Observability };

export function createApp({ sql, verifier, outbox, observability }: CartDeps) {
  const app = createServiceApp({ service: "cart", ready: databaseReady(sql), observability, verifier });
  app.route("/users", cartRoutes(sql, outbox));
  app.route("/users", cartClearRoutes(sql, outbox));
  return app;
}
