// /admin/status and /admin/chaos/inventory: what the storefront's status page shows (breakers, latencies,
// queues, outbox backlogs, Redis) and its development-only switches for inventory's demo knobs, forwarded to
// inventory's PUT /admin/chaos (a 404 there, when INVENTORY_CHAOS_SWITCHES is off, is passed on). Admins only.
import { createRoute, z } from "@hono/zod-openapi";
import { requireRole } from "@storefront/shared/auth/authenticate";
import type { AuthVariables } from "@storefront/shared/auth/identity";
import type { UpstreamClient } from "@storefront/shared/upstream/client";
import { forward } from "../forward.ts";
import { errorResponses, jsonBody, jsonResponse, needsToken } from "../openapi/responses.ts";
import { openApiRouter, passedOn } from "../openapi/router.ts";
import { collectStatus, type StatusSources } from "../status/collect.ts";

const count = z.number().int().min(0);
const ms = z.number().min(0);

export const UpstreamStatus = z
  .strictObject({
    name: z.string().openapi({ example: "inventory" }),
    state: z.enum(["closed", "open", "half_open"]).openapi({ description: "The BFF's circuit breaker for this upstream." }),
    calls: count.openapi({ description: "Calls in the breaker's window." }),
    failures: count.openapi({ description: "Of those, failed (5xx, unreachable, late)." }),
    slow: count.openapi({ description: "Of those, slower than the breaker's slow-call threshold." }),
    half_open_in_ms: ms.nullable().openapi({ description: "While open: when probes will be let through. Null otherwise." }),
    latency_ms: z
      .strictObject({
        p50: ms.nullable(),
        p99: ms.nullable(),
        count: count.openapi({ description: "Calls observed; sample it twice to get a rate." }),
      })
      .openapi({ description: "From bff_upstream_request_duration_seconds, every outcome, since the BFF started; null without calls." }),
    replicas: z
      .array(
        z.strictObject({
          url: z.string().openapi({ example: "http://10.0.0.5:8001" }),
          state: z.enum(["closed", "open", "half_open"]).openapi({ description: "This replica's own breaker." }),
          outstanding: count.openapi({ description: "Calls to it in flight." }),
          ejected_for_ms: ms.nullable().openapi({ description: "Left out of the balancing this much longer after failing; null when in." }),
        }),
      )
      .nullable()
      .openapi({ description: "When the upstream is given as a list of replicas (<APP>_URL=a,b): each one. Null for one address." }),
  })
  .openapi("UpstreamStatus");

export const QueueStatus = z
  .strictObject({
    name: z.string().openapi({ example: "notifications" }),
    waiting: count,
    active: count,
    delayed: count.openapi({ description: "Waiting out a retry's backoff." }),
    failed: count.openapi({ description: "Dead letters: out of attempts, kept until retried or removed." }),
  })
  .openapi("QueueStatus");

export const StatusPage = z
  .strictObject({
    upstreams: z.array(UpstreamStatus),
    queues: z.array(QueueStatus).nullable().openapi({ description: "Every event queue; null when Redis did not answer in time." }),
    outboxes: z
      .array(
        z.strictObject({
          service: z.string().openapi({ example: "orders" }),
          pending: count.nullable().openapi({ description: "Events not yet published; null when the service's /metrics did not answer in time." }),
        }),
      )
      .openapi({ description: "Each service with an outbox relay." }),
    redis: z.enum(["up", "down"]),
    generated_at: z.iso.datetime(),
  })
  .openapi("StatusPage");

const delayMs = z.number().int().min(0).max(60_000);
export const InventoryChaos = z
  .strictObject({
    delay_ms: z
      .strictObject({ min: delayMs, max: delayMs })
      .refine((range) => range.min <= range.max, "min must not exceed max")
      .nullable()
      .openapi({ description: "Each stock read or write waits a whole number of ms drawn in [min, max]; null for none." }),
    fail_rate: z.number().min(0).max(1).openapi({ description: "Share of stock requests answered 500 INJECTED_FAILURE." }),
  })
  .openapi("InventoryChaos");

const tags = ["admin"];
const FORBIDDEN = "FORBIDDEN: the token is not an admin's.";

const status = createRoute({
  method: "get",
  path: "/status",
  tags,
  summary: "The system's status",
  description:
    "Breakers and latency per upstream, event queue counts, each service's outbox backlog and Redis's health. Each part is read under its own short " +
    "deadline; a part that does not answer is null (Redis `down`) and the rest is still there.",
  security: needsToken,
  responses: { 200: jsonResponse("The status now.", StatusPage), ...errorResponses([401, 403], { 403: FORBIDDEN }) },
});

const setInventoryChaos = createRoute({
  method: "put",
  path: "/chaos/inventory",
  tags,
  summary: "Slow down or break inventory (development)",
  description:
    "Sets inventory's demo knobs for its next requests, to watch the breaker open, probe and close. Only where inventory runs with " +
    "INVENTORY_CHAOS_SWITCHES=1; elsewhere inventory's 404 is passed on.",
  security: needsToken,
  request: { body: jsonBody(InventoryChaos) },
  responses: {
    200: jsonResponse("The knobs now.", InventoryChaos),
    ...errorResponses([400, 401, 403, 404, 413, 415], { 403: FORBIDDEN, 404: "NOT_FOUND: inventory runs without the switches (INVENTORY_CHAOS_SWITCHES)." }),
  },
});

/**
 * `inventoryAdmin`: a client of inventory with a breaker of its own, so an open inventory breaker (what the
 * switches are for) never refuses the call that turns the knobs back.
 */
export const adminStatusRoutes = (sources: StatusSources, inventoryAdmin: UpstreamClient, deadlineMs: number) => {
  const router = openApiRouter<{ Variables: AuthVariables }>();
  router.use(requireRole("admin"));
  return router
    .openapi(status, async (c) => c.json(await collectStatus(sources), 200))
    .openapi(setInventoryChaos, (c) => passedOn(forward(c, inventoryAdmin, deadlineMs, "PUT", "/admin/chaos", c.req.valid("json"))));
};
