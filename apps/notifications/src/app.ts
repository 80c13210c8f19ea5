// The notifications service's HTTP side: each user's inbox. No I/O here; index.ts builds the dependencies and
// runs the queue worker (worker.ts) that fills the inbox.
import type { Sql } from "postgres";
import type { TokenVerifier } from "@storefront/shared/auth/token-verifier";
import type { Observability } from "@storefront/shared/observability/observability";
import { createServiceApp, databaseReady } from "@storefront/shared/service-app";
import { notificationsRoutes } from "./routes/notifications.ts";

/** `verifier`: checks callers' access tokens (a customer reaches only their own inbox; admins and services any). */
export type NotificationsDeps = { sql: Sql; verifier: TokenVerifier; observability?: Observability };

export function createApp({ sql, verifier, observability }: NotificationsDeps) {
  const app = createServiceApp({ service: "notifications", ready: databaseReady(sql), observability, verifier });
  app.route("/users", notificationsRoutes(sql));
  return app;
}
