// The base Hono app every service starts from: request id, access log and metrics, the error envelope,
// the 404 envelope, secure headers, a body limit, the caller's token when it has one, /health, /ready and /metrics.
import { Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { secureHeaders } from "hono/secure-headers";
import { authenticate } from "./auth/authenticate.ts";
import type { AuthVariables } from "./auth/identity.ts";
import type { TokenVerifier } from "./auth/token-verifier.ts";
import { deadlineFromHeader, type DeadlineVariables } from "./deadline-propagation.ts";
import { errorHandler, errorResponse, notFound } from "./errors.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./observability/metrics.ts";
import { createObservability, type Observability } from "./observability/observability.ts";
import { requestContext, type RequestVariables } from "./observability/request-context.ts";

export type ReadinessCheck = () => Promise<void>;

/** Every app's JSON bodies are small; a larger one (declared or streamed) is a 413 before a handler reads it. */
export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;

/** `ready` throws (or times out) when a dependency the service cannot work without does not answer. */
export function createServiceApp<V extends object = {}>(options: {
  service: string;
  ready: ReadinessCheck;
  readyTimeoutMs?: number;
  observability?: Observability;
  /** Verifies `Authorization: Bearer` tokens and sets `identity` (null without one); routes decide what they need. */
  verifier?: TokenVerifier;
  bodyLimitBytes?: number;
  /** Run before the token is checked, e.g. the BFF's CORS, so even a refusal carries its headers. */
  edge?: MiddlewareHandler[];
  /**
   * Paths whose Authorization header is not looked at (identity stays null), e.g. /auth/login and
   * /auth/refresh: a client still sending its expired access token must be able to get a new one.
   */
  anonymousPaths?: readonly string[];
}) {
  const { service, ready, readyTimeoutMs = 2000, verifier, bodyLimitBytes = DEFAULT_BODY_LIMIT_BYTES } = options;
  const obs = options.observability ?? createObservability(service);
  const app = new Hono<{ Variables: RequestVariables & DeadlineVariables & AuthVariables & V }>();
  app.onError(errorHandler(obs.logger));
  app.notFound(notFound);
  app.use(requestContext(obs));
  app.use(secureHeaders());
  // Content-Length and chunked bodies alike: hono's bodyLimit counts what is read.
  app.use(
    bodyLimit({
      maxSize: bodyLimitBytes,
      onError: (c) => errorResponse(c, 413, "PAYLOAD_TOO_LARGE", `the request body is over ${bodyLimitBytes} bytes`),
    }),
  );
  app.use(deadlineFromHeader());
  for (const middleware of options.edge ?? []) app.use(middleware);
  if (verifier) {
    const check = authenticate(verifier);
    const anonymous = new Set(options.anonymousPaths ?? []);
    app.use(
      createMiddleware<{ Variables: AuthVariables }>(async (c, next) => {
        if (!anonymous.has(c.req.path)) return check(c, next);
        c.set("identity", null);
        await next();
      }),
    );
  }
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
