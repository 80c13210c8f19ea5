// Forwards a user's request to the service that owns it, under a deadline the upstream client enforces, with
// the caller's own access token (each service checks it again). The service's own answer (2xx, or a 4xx that
// is the caller's fault) goes back as it is; 5xx, unreachable, late or an open circuit become 502/504/503.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError } from "@storefront/shared/errors";
import type { Identity } from "@storefront/shared/auth/identity";
import type { UpstreamClient } from "@storefront/shared/upstream/client";
import { rootCause, UpstreamStatusError } from "@storefront/shared/upstream/errors";
import { gatewayError } from "./gateway-errors.ts";

/**
 * What a service says about its answer that still holds at the BFF: whether it may be stored (token replies
 * are no-store) and when to retry a refusal. Location is not passed as it is: its path is the service's, not
 * ours (a route that has one of its own rewrites it, ForwardOptions.location).
 */
const PASSED_ON = ["cache-control", "retry-after"] as const;

export type ForwardOptions = {
  /** Request headers sent besides the caller's token, e.g. `idempotency-key`. */
  headers?: Record<string, string>;
  /** Response headers passed on besides PASSED_ON, e.g. `idempotent-replayed`. */
  passOn?: readonly string[];
  /** Maps the service's Location to the BFF's own path; null (or no function) drops it. */
  location?: (upstreamLocation: string) => string | null;
  /**
   * The service's own 503 UPSTREAM_UNAVAILABLE (it could not reach what it needs, and says nothing was done)
   * is answered as a 503 UPSTREAM_UNAVAILABLE with Retry-After rather than a 502: the client may simply retry.
   */
  passOnUnavailable?: boolean;
};

/** The caller's token to pass on, when it has one. */
export const bearerOf = (identity: Identity | null | undefined): Record<string, string> | undefined =>
  identity ? { authorization: `Bearer ${identity.token}` } : undefined;

/** A 503 whose body is the envelope with code UPSTREAM_UNAVAILABLE: the service refused before doing anything. */
function unavailableRefusal(upstream: string, err: unknown): AppError | undefined {
  const cause = rootCause(err);
  if (!(cause instanceof UpstreamStatusError) || cause.status !== 503) return undefined;
  const code = (cause.body as { error?: { code?: unknown } } | null)?.error?.code;
  if (code !== "UPSTREAM_UNAVAILABLE") return undefined;
  const seconds = Math.max(1, Math.ceil((cause.retryAfterMs ?? 1000) / 1000));
  // Our own words: the service's message may name its internal dependencies.
  return new AppError(503, "UPSTREAM_UNAVAILABLE", `${upstream} cannot serve this now (a service it needs is unavailable); nothing was done`, {
    cause: err,
    headers: { "retry-after": String(seconds) },
  });
}

export async function forward(
  c: Context,
  upstream: UpstreamClient,
  deadlineMs: number,
  method: string,
  path: string,
  json?: unknown,
  options: ForwardOptions = {},
) {
  let reply;
  try {
    const headers = { ...options.headers, ...bearerOf(c.get("identity")) };
    reply = await upstream.send(method, path, { deadline: deadlineMs, requestId: c.get("requestId"), json, headers });
  } catch (err) {
    throw (options.passOnUnavailable && unavailableRefusal(upstream.name, err)) || gatewayError(upstream.name, err);
  }
  for (const name of [...PASSED_ON, ...(options.passOn ?? [])]) {
    const value = reply.headers.get(name);
    if (value !== null) c.header(name, value);
  }
  const location = reply.headers.get("location");
  const rewritten = location !== null && options.location ? options.location(location) : null;
  if (rewritten !== null) c.header("location", rewritten);
  if (reply.status === 204 || reply.body === null) return c.body(null, reply.status as 204);
  return c.json(reply.body as object, reply.status as ContentfulStatusCode);
}
