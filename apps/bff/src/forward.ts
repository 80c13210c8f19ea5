// Forwards a user's request to the service that owns it, under a deadline the upstream client enforces, with
// the caller's own access token (each service checks it again). The service's own answer (2xx, or a 4xx that
// is the caller's fault) goes back as it is; 5xx, unreachable, late or an open circuit become 502/504/503.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Identity } from "@storefront/shared/auth/identity";
import type { UpstreamClient } from "@storefront/shared/upstream/client";
import { gatewayError } from "./gateway-errors.ts";

/**
 * What a service says about its answer that still holds at the BFF: whether it may be stored (token replies
 * are no-store) and when to retry a refusal. Location is not passed: its path is the service's, not ours.
 */
const PASSED_ON = ["cache-control", "retry-after"] as const;

/** The caller's token to pass on, when it has one. */
export const bearerOf = (identity: Identity | null | undefined): Record<string, string> | undefined =>
  identity ? { authorization: `Bearer ${identity.token}` } : undefined;

export async function forward(c: Context, upstream: UpstreamClient, deadlineMs: number, method: string, path: string, json?: unknown) {
  let reply;
  try {
    reply = await upstream.send(method, path, { deadline: deadlineMs, requestId: c.get("requestId"), json, headers: bearerOf(c.get("identity")) });
  } catch (err) {
    throw gatewayError(upstream.name, err);
  }
  for (const name of PASSED_ON) {
    const value = reply.headers.get(name);
    if (value !== null) c.header(name, value);
  }
  if (reply.status === 204 || reply.body === null) return c.body(null, reply.status as 204);
  return c.json(reply.body as object, reply.status as ContentfulStatusCode);
}
