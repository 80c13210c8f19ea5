// /admin/deliveries and /admin/couriers: managers (role admin) list and read deliveries and assign a courier,
// forwarded to the delivery service with the caller's token. Role admin here, and again at delivery.
import { createRoute, z } from "@hono/zod-openapi";
import { requireRole } from "@storefront/shared/auth/authenticate";
import type { AuthVariables } from "@storefront/shared/auth/identity";
import type { UpstreamClient } from "@storefront/shared/upstream/client";
import { MAX_INT4 } from "@storefront/shared/validate";
import { forward } from "../forward.ts";
import { errorResponses, jsonBody, jsonResponse, needsToken } from "../openapi/responses.ts";
import { openApiRouter, passedOn } from "../openapi/router.ts";
import { Courier, Delivery, deliveryPageQuery, DeliveryPage, deliveryParams, pageQueryString } from "./deliveries.ts";

const assignBody = z.strictObject({
  courier_id: z.number().int().positive().max(MAX_INT4).openapi({ description: "One of GET /admin/couriers.", example: 1 }),
});

const tags = ["deliveries"];
const FORBIDDEN = "FORBIDDEN: the token is not an admin's.";
const NO_DELIVERY = "NOT_FOUND: no delivery for this order (none is made until delivery hears of the order).";

const list = createRoute({
  method: "get",
  path: "/deliveries",
  tags,
  summary: "Deliveries",
  description: "By order id, oldest first, a page at a time: pass `next_after` as `after` for the next page. `status` keeps one status only.",
  security: needsToken,
  request: { query: deliveryPageQuery },
  responses: { 200: jsonResponse("A page of deliveries.", DeliveryPage), ...errorResponses([400, 401, 403], { 403: FORBIDDEN }) },
});

const one = createRoute({
  method: "get",
  path: "/deliveries/{id}",
  tags,
  summary: "One delivery",
  description: "With its address, courier and history.",
  security: needsToken,
  request: { params: deliveryParams },
  responses: { 200: jsonResponse("The delivery.", Delivery), ...errorResponses([400, 401, 403, 404], { 403: FORBIDDEN, 404: NO_DELIVERY }) },
});

const assign = createRoute({
  method: "post",
  path: "/deliveries/{id}/courier",
  tags,
  summary: "Assign a courier",
  description:
    "Gives an activated (paid) delivery without a courier to a courier; the order shows as shipped and the customer is told. " +
    "Only once: of two managers assigning at the same time one gets 200, the other 409.",
  security: needsToken,
  request: { params: deliveryParams, body: jsonBody(assignBody) },
  responses: {
    200: jsonResponse("The delivery, with its courier.", Delivery),
    ...errorResponses([400, 401, 403, 404, 409, 413, 415], {
      400: "BAD_REQUEST: the path or body does not match, or (from delivery) the courier does not exist.",
      403: FORBIDDEN,
      404: "NOT_FOUND: no delivery for this order, or no such courier (the message says which).",
      409: "INVALID_TRANSITION: the delivery is not activated, or has a courier already; `error.status` is its status now. Nothing changed.",
    }),
  },
});

const couriers = createRoute({
  method: "get",
  path: "/couriers",
  tags,
  summary: "Couriers",
  description: "Everyone a delivery can be assigned to.",
  security: needsToken,
  responses: { 200: jsonResponse("The couriers.", z.array(Courier)), ...errorResponses([401, 403], { 403: FORBIDDEN }) },
});

export const adminDeliveriesRoutes = (delivery: UpstreamClient, deadlineMs: number) => {
  const router = openApiRouter<{ Variables: AuthVariables }>();
  // The role first: a caller who may not assign learns nothing from the validation of what they sent.
  router.use(requireRole("admin"));
  return router
    .openapi(list, (c) => passedOn(forward(c, delivery, deadlineMs, "GET", `/deliveries${pageQueryString(c.req.valid("query"))}`)))
    .openapi(one, (c) => passedOn(forward(c, delivery, deadlineMs, "GET", `/deliveries/${c.req.valid("param").id}`)))
    .openapi(assign, (c) =>
      passedOn(forward(c, delivery, deadlineMs, "POST", `/deliveries/${c.req.valid("param").id}/courier`, c.req.valid("json"))),
    )
    .openapi(couriers, (c) => passedOn(forward(c, delivery, deadlineMs, "GET", "/couriers")));
};
