// /courier/deliveries: a courier's own deliveries (list, mark one delivered), forwarded to the delivery service's
// /couriers/me routes with the caller's token. Delivery finds the courier from the token's user, so another
// courier's delivery is its 404, never reached by an id in our path.
import { createRoute } from "@hono/zod-openapi";
import { requireRole } from "@storefront/shared/auth/authenticate";
import type { AuthVariables } from "@storefront/shared/auth/identity";
import type { UpstreamClient } from "@storefront/shared/upstream/client";
import { forward } from "../forward.ts";
import { errorResponses, jsonResponse, needsToken } from "../openapi/responses.ts";
import { openApiRouter, passedOn } from "../openapi/router.ts";
import { Delivery, deliveryPageQuery, DeliveryPage, deliveryParams, pageQueryString } from "./deliveries.ts";

const tags = ["courier"];
const FORBIDDEN = "FORBIDDEN: the token is not a courier's, or its user is not linked to a courier.";

const list = createRoute({
  method: "get",
  path: "/deliveries",
  tags,
  summary: "The caller's deliveries",
  description: "Those assigned to the calling courier, by order id, oldest first, a page at a time: pass `next_after` as `after` for the next page.",
  security: needsToken,
  request: { query: deliveryPageQuery },
  responses: { 200: jsonResponse("A page of the caller's deliveries.", DeliveryPage), ...errorResponses([400, 401, 403], { 403: FORBIDDEN }) },
});

const done = createRoute({
  method: "post",
  path: "/deliveries/{id}/done",
  tags,
  summary: "Mark a delivery delivered",
  description: "The order shows as delivered and the customer is told. No body.",
  security: needsToken,
  request: { params: deliveryParams },
  responses: {
    200: jsonResponse("The delivery, done.", Delivery),
    ...errorResponses([400, 401, 403, 404, 409], {
      403: FORBIDDEN,
      404: "NOT_FOUND: no such delivery, or not the caller's (another courier's delivery is not found, not forbidden).",
      409: "INVALID_TRANSITION: the delivery is not activated (done already, or cancelled); `error.status` is its status now. Nothing changed.",
    }),
  },
});

export const courierRoutes = (delivery: UpstreamClient, deadlineMs: number) => {
  const router = openApiRouter<{ Variables: AuthVariables }>();
  // The role first: a caller who is no courier learns nothing from the validation of what they sent.
  router.use(requireRole("courier"));
  return router
    .openapi(list, (c) => passedOn(forward(c, delivery, deadlineMs, "GET", `/couriers/me/deliveries${pageQueryString(c.req.valid("query"))}`)))
    .openapi(done, (c) => passedOn(forward(c, delivery, deadlineMs, "POST", `/couriers/me/deliveries/${c.req.valid("param").id}/done`)));
};
