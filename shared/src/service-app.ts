// The base Hono app every service starts from: request id, access log and metrics, the error envelope,
// the 404 envelope, /health, /ready and /metrics.
import { Hono } from "hono";
import { deadlineFromHeader, type DeadlineVariables } from "./deadline-propagation.ts";
import { errorHandler, errorResponse, notFound } from "./errors.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./observability/metrics.ts";
import { createObservability, type Observability } from "./observability/observability.ts";
import { requestContext, type RequestVariables } from "./observability/request-context.ts";

export type ReadinessCheck = () => Promise<void>;

/** `ready` throws (or times out) when a dependency the service cannot work without does not answer. */
export function createServiceApp<V extends object = {}>(options: {
  service: string;
  ready: ReadinessCheck;
  readyTimeoutMs?: number;
  observability?: Observability;
}) {
  const { service, ready, readyTimeoutMs = 2000 } = options;
  const obs = options.observability ?? createObservability(service);
  const app = new Hono<{ Variables: RequestVariables & DeadlineVariables & V }>();
  app.onError(errorHandler(obs.logger));
  app.notFound(notFound);
  app.use(requestContext(obs));
  app.use(deadlineFromHeader());
  app.get("/health", (c) => c.json({ status: "ok", service }));
  app.get("/metrics", (c) => c.body(obs.registry.render(), 200, { "content-type": PROMETHEUS_CONTENT_TYPE }));
  app.get("/ready", async (c) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        ready(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`readiness check took over ${readyTimeoutMs} ms`)), readyTimeoutMs);
        }),
      ]);
      return c.json({ status: "ready", service });
    } catch (err) {
      return errorResponse(c, 503, "NOT_READY", `${service} is not ready: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  });
  return app;
}

/** Readiness of a service whose only dependency is its database. */
export const databaseReady = (sql: { unsafe: (q: string) => PromiseLike<unknown> }): ReadinessCheck => async () => {
  await sql.unsafe("select 1");
};
