// The notifications service's HTTP side: each user's inbox. No I/O here; index.ts builds the dependencies and
// runs the queue worker (worker.ts) that fills the inbox.
import type { Sql } from "postgres";
import type { Observability } from "@storefront/shared/observability/observability";
import { createServiceApp, databaseReady } from "@storefront/shared/service-app";
import { notificationsRoutes } from "./routes/notifications.ts";

export type NotificationsDeps = { sql: Sql; observability?: Observability };

export function createApp({ sql, observability }: NotificationsDeps) {
  const app = createServiceApp({ service: "notifications", ready: databaseReady(sql), observability });
  app.route("/users", notificationsRoutes(sql));
  return app;
}
