// Forwards a user's change to the service that owns it, under a deadline: the service's own answer
// (2xx, or a 4xx that is the caller's fault) goes back as it is; 5xx, unreachable, late or open circuit
// become 502/504/503.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { createDeadline } from "@storefront/shared/deadline";
import { gatewayError } from "./gateway-errors.ts";
import type { Upstream } from "./upstream.ts";

export async function forward(c: Context, upstream: Upstream, deadlineMs: number, method: string, path: string, body?: unknown) {
  let reply;
  const deadline = createDeadline(deadlineMs);
  try {
    reply = await deadline.race(upstream.send(method, path, body, deadline, c.get("requestId")));
  } catch (err) {
    throw gatewayError(upstream.name, err);
  } finally {
    deadline.abort();
  }
  if (reply.status === 204 || reply.body === null) return c.body(null, reply.status as 204);
  return c.json(reply.body as object, reply.status as ContentfulStatusCode);
}
