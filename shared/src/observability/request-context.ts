// Per-request observability as one middleware: the request id (x-request-id, generated if absent, echoed back),
// one structured log line per request, and the HTTP metrics by route (the registered pattern, not the raw path,
// so /users/1 and /users/2 are one series).
import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import type { Observability } from "./observability.ts";

export type Timing = { name: string; ms: number; outcome?: string };
export type RequestVariables = {
  requestId: string;
  /** Upstream or step timings a handler records; logged and, where a handler chooses, sent as Server-Timing. */
  timings: Timing[];
};

const REQUEST_ID = /^[\w.:-]{1,128}$/;
const UNMATCHED = "unmatched";

/** `generate` is injectable so tests can pin ids. */
export const requestContext = (obs: Observability, generate: () => string = () => crypto.randomUUID()) =>
  createMiddleware<{ Variables: RequestVariables }>(async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header("x-request-id");
    // An id from outside is kept only if it is a sane token: it goes into logs and upstream headers.
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : generate();
    c.set("requestId", requestId);
    c.set("timings", []);
    c.header("x-request-id", requestId);
    await next();
    const ms = performance.now() - started;
    const status = c.res.status;
    const matched = routePath(c, -1);
    const route = matched === "*" || matched.endsWith("/*") ? UNMATCHED : matched;
    const statusLabel = String(status);
    obs.http.requests.inc([c.req.method, route, statusLabel]);
    obs.http.duration.observe([c.req.method, route, statusLabel], ms / 1000);
    const level = status >= 500 ? "error" : "info";
    if (obs.logger.enabled(level)) {
      const timings = c.get("timings");
      obs.logger[level]("request", {
        request_id: requestId,
        method: c.req.method,
        route,
        path: c.req.path,
        status,
        ms: Math.round(ms * 100) / 100,
        ...(timings.length ? { upstreams: timings } : {}),
      });
    }
  });
