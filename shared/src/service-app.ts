// The base Hono app every service starts from: error envelope, 404 envelope, /health and /ready.
import { Hono, type Env } from "hono";
import { errorResponse, notFound, onError } from "./errors.ts";

export type ReadinessCheck = () => Promise<void>;

/** `ready` throws (or times out) when a dependency the service cannot work without does not answer. */
export function createServiceApp<E extends Env = Env>(options: { service: string; ready: ReadinessCheck; readyTimeoutMs?: number }) {
  const { service, ready, readyTimeoutMs = 2000 } = options;
  const app = new Hono<E>();
  app.onError(onError);
  app.notFound(notFound);
  app.get("/health", (c) => c.json({ status: "ok", service }));
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
