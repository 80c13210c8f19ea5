// Forwards a user's change to the service that owns it, under a deadline the upstream client enforces: the
// service's own answer (2xx, or a 4xx that is the caller's fault) goes back as it is; 5xx, unreachable, late
// or an open circuit become 502/504/503.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { UpstreamClient } from "@storefront/shared/upstream/client";
import { gatewayError } from "./gateway-errors.ts";

export async function forward(c: Context, upstream: UpstreamClient, deadlineMs: number, method: string, path: string, json?: unknown) {
  let reply;
  try {
    reply = await upstream.send(method, path, { deadline: deadlineMs, requestId: c.get("requestId"), json });
  } catch (err) {
    throw gatewayError(upstream.name, err);
  }
  if (reply.status === 204 || reply.body === null) return c.body(null, reply.status as 204);
  return c.json(reply.body as object, reply.status as ContentfulStatusCode);
}
