// The storefront web app: server-rendered pages (hono/jsx) over the BFF, plain forms and links, no client
// script. No I/O here; index.ts reads the config. Built on the shared service app for /health, /ready (ready
// as soon as it listens), /metrics, request ids and the access log, with HTML error pages instead of the JSON
// envelope, a Content-Security-Policy that allows no script at all, the session and CSRF protection.
import { createObservability, type Observability } from "@storefront/shared/observability/observability";
import { createServiceApp } from "@storefront/shared/service-app";
import type { FetchFn } from "@storefront/shared/upstream/client";
import type { MiddlewareHandler } from "hono";
import { createBffClient, type BffDeadlines } from "./bff.ts";
import type { Services, WebEnv, WebOwnVariables } from "./context.ts";
import { csrfProtection } from "./csrf.ts";
import { htmlErrorHandler, htmlNotFound } from "./errors.ts";
import { authRoutes } from "./routes/auth.ts";
import { cartRoutes } from "./routes/cart.ts";
import { checkoutRoutes } from "./routes/checkout.ts";
import { notificationsRoutes } from "./routes/notifications.ts";
import { ordersRoutes } from "./routes/orders.ts";
import { shopRoutes } from "./routes/shop.ts";
import { adminRoutes } from "./routes/admin.ts";
import { courierRoutes } from "./routes/courier.ts";
import { statusRoutes } from "./routes/status.ts";
import { createSessionStore } from "./session.ts";
import { createStatusHistory } from "./status-history.ts";
import { CSS_HASH } from "./views/styles.ts";

export type WebDeps = {
  /** The BFF's address, e.g. http://127.0.0.1:9000. */
  bffUrl: string;
  /** Defaults to the global fetch; tests pass a stub BFF's. */
  fetch?: FetchFn;
  /** Secure (and __Host-) cookies: true behind HTTPS (settings.ts decides from the environment). */
  secureCookies: boolean;
  /** Clock for token expiry and the delivery date's bounds; tests pass their own. */
  now?: () => number;
  deadlines?: Partial<BffDeadlines>;
  /**
   * A development run (settings.ts: NODE_ENV not production and cookies not Secure): /status and its switches
   * are open to every visitor. Default false: only admins.
   */
  development?: boolean;
  /** Logger and metrics registry; index.ts passes the real ones, tests get silent defaults. */
  observability?: Observability;
};

/** Only the inline stylesheet; no script, frame, plugin or foreign form target. */
const CONTENT_SECURITY_POLICY = `default-src 'none'; style-src ${CSS_HASH}; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;

/** Pages are per visitor (their session, their CSRF token): never stored by a browser or a proxy. */
const pageHeaders: MiddlewareHandler<WebEnv> = async (c, next) => {
  await next();
  c.header("cache-control", "no-store");
  if (c.res.headers.get("content-type")?.startsWith("text/html")) c.header("content-security-policy", CONTENT_SECURITY_POLICY);
};

export function createApp(deps: WebDeps) {
  const now = deps.now ?? Date.now;
  const obs = deps.observability ?? createObservability("web");
  const bff = createBffClient({
    baseUrl: deps.bffUrl,
    fetch: deps.fetch,
    deadlines: deps.deadlines,
    duration: obs.registry.histogram("web_bff_request_duration_seconds", "Calls to the BFF in seconds, by outcome.", ["upstream", "outcome"]),
  });
  const sessions = createSessionStore({ bff, secure: deps.secureCookies, now });
  const statusHistory = createStatusHistory({ now });
  const services: Services = { bff, sessions, now, logger: obs.logger, statusHistory, development: deps.development ?? false };

  const app = createServiceApp<WebOwnVariables>({
    service: "web",
    ready: async () => {},
    observability: obs,
  });
  app.onError(htmlErrorHandler(obs.logger));
  app.notFound(htmlNotFound);
  // Browsers ask for it on every first visit; there is none, and a 404 page for it would only fill the log.
  app.get("/favicon.ico", (c) => c.body(null, 204));
  app.use(async (c, next) => {
    c.set("services", services);
    await next();
  });
  app.use(pageHeaders);
  for (const middleware of csrfProtection(sessions)) app.use(middleware);
  app.use(sessions.middleware());
  const routers = [shopRoutes(), authRoutes(), cartRoutes(), checkoutRoutes(), ordersRoutes(), notificationsRoutes(), adminRoutes(), courierRoutes(), statusRoutes()];
  for (const routes of routers) app.route("/", routes);
  return app;
}
