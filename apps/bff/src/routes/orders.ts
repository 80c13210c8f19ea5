// /orders: the calling user's orders (list, one, cancel), forwarded to the orders service with the caller's
// token. The order schemas live here; POST /checkout (checkout.ts) answers with them too.
import { createRoute, z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { requireIdentity, userOf } from "@storefront/shared/auth/authenticate";
import type { AuthVariables } from "@storefront/shared/auth/identity";
import type { UpstreamClient } from "@storefront/shared/upstream/client";
import { positiveIntString } from "@storefront/shared/validate";
import { forward } from "../forward.ts";
import { errorResponses, jsonResponse, needsToken } from "../openapi/responses.ts";
import { openApiRouter, passedOn } from "../openapi/router.ts";
import { DeliveryStatus } from "./delivery-status.ts";

const MAX_PAGE = 100;

export const ORDER_STATUSES = ["pending", "confirmed", "cancelling", "cancelled", "shipped", "delivered"] as const;

const orderId = z.number().int().positive().openapi({ example: 41 });
const cents = z.number().int().min(0);
export const OrderStatus = z.enum(ORDER_STATUSES).openapi("OrderStatus", {
  description:
    "pending: payment or stock still being settled; confirmed: paid and reserved; cancelling: being undone; cancelled; " +
    "shipped: a courier has it (it can no longer be cancelled); delivered.",
});
export const OrderItem = z
  .strictObject({
    product_id: z.number().int().positive(),
    quantity: z.number().int().positive(),
    price_cents: cents.openapi({ description: "The unit price when the order was placed." }),
  })
  .openapi("OrderItem");
// As orders checks them: surrounding spaces trimmed, then 1..max characters.
const text = (max: number) => z.string().trim().min(1, "must not be empty").max(max, `must be at most ${max} characters`);
export const ShippingAddress = z
  .strictObject({
    name: text(100).openapi({ example: "Ada Lovelace" }),
    line1: text(200).openapi({ example: "12 St James's Square" }),
    city: text(100).openapi({ example: "London" }),
    postal_code: text(20).openapi({ example: "SW1Y 4JH" }),
    country: z
      .string()
      .regex(/^[A-Z]{2}$/, "must be two upper-case letters (ISO 3166-1 alpha-2)")
      .openapi({ description: "ISO 3166-1 alpha-2, upper case.", example: "GB" }),
  })
  .openapi("ShippingAddress");
export const OrderStep = z
  .strictObject({
    step: z.string().openapi({ example: "payment" }),
    outcome: z.string().openapi({ example: "succeeded" }),
    at: z.iso.datetime(),
    detail: z.string().nullable(),
  })
  .openapi("OrderStep");
export const OrderDelivery = z
  .strictObject({
    status: DeliveryStatus,
    courier_name: z.string().nullable().openapi({ description: "The courier who has it; null until one is assigned.", example: "Courier One" }),
    updated_at: z.iso.datetime().openapi({ description: "When the delivery last changed." }),
  })
  .openapi("OrderDelivery");
export const Order = z
  .strictObject({
    order_id: orderId,
    status: OrderStatus,
    total_cents: cents,
    items: z.array(OrderItem),
    shipping_address: ShippingAddress,
    delivery_date: z.iso.date().nullable(),
    cancel_reason: z.string().nullable(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    history: z.array(OrderStep).openapi({ description: "What the checkout (and any cancel) did, oldest first." }),
    // Not OrderDelivery.nullable(): the document generator drops the null from a named schema's nullable().
    delivery: z.union([OrderDelivery, z.null()]).openapi({ description: "Where its delivery stands; null until delivery reports on it." }),
  })
  .openapi("Order");
export const OrderSummary = z
  .strictObject({ order_id: orderId, status: OrderStatus, total_cents: cents, item_count: z.number().int().min(0), created_at: z.iso.datetime() })
  .openapi("OrderSummary");
export const OrderPage = z
  .strictObject({
    orders: z.array(OrderSummary),
    next_after: orderId.nullable().openapi({ description: "Pass as `after` for the next page; null on the last one." }),
  })
  .openapi("OrderPage");

const pageQuery = z.strictObject({
  after: positiveIntString.optional().openapi({ description: "Only orders older than this one: the previous page's `next_after`.", example: "41" }),
  limit: positiveIntString
    .refine((n) => n <= MAX_PAGE, `must be at most ${MAX_PAGE}`)
    .optional()
    .openapi({ description: `How many, 1-${MAX_PAGE}; 20 when left out.`, example: "20" }),
});
export const orderParams = z.strictObject({ id: positiveIntString.openapi({ description: "The order's id.", example: "41" }) });

/** The orders service's Location for an order (its own path) as the BFF's: `/orders/<id>`; null when it is not one. */
export function orderLocation(upstreamLocation: string): string | null {
  let pathname: string;
  try {
    pathname = new URL(upstreamLocation, "http://orders.invalid").pathname;
  } catch {
    return null;
  }
  const match = /\/orders\/([1-9][0-9]{0,9})$/.exec(pathname);
  return match ? `/orders/${match[1]}` : null;
}

/**
 * A user's token, refused before the request is validated: a service token has no orders, and should learn
 * that rather than what is wrong with its body. (userOf would refuse it in the handler, after validation.)
 */
export const requireUser = () =>
  createMiddleware<{ Variables: AuthVariables }>(async (c, next) => {
    userOf(c);
    await next();
  });

const tags = ["orders"];
const FORBIDDEN = "FORBIDDEN: a service token has no orders of its own.";
const NOT_YOURS = "NOT_FOUND: no such order, or not the caller's (another user's order is not found, not forbidden).";

const list = createRoute({
  method: "get",
  path: "/",
  tags,
  summary: "The caller's orders",
  description: "Newest first, a page at a time: pass `next_after` as `after` for the next page.",
  security: needsToken,
  request: { query: pageQuery },
  responses: { 200: jsonResponse("A page of orders, newest first.", OrderPage), ...errorResponses([400, 401, 403], { 403: FORBIDDEN }) },
});

const one = createRoute({
  method: "get",
  path: "/{id}",
  tags,
  summary: "One of the caller's orders",
  description: "With its items, address, history and delivery. Where a checkout's `Location` points while the order is pending.",
  security: needsToken,
  request: { params: orderParams },
  responses: { 200: jsonResponse("The order.", Order), ...errorResponses([400, 401, 403, 404], { 403: FORBIDDEN, 404: NOT_YOURS }) },
});

const cancel = createRoute({
  method: "post",
  path: "/{id}/cancel",
  tags,
  summary: "Cancel an order",
  description:
    "Releases the stock and refunds the payment. 200 once that is done; 202 while it is still under way (status `cancelling`: " +
    "read the order again). Cancelling a cancelled order answers it again.",
  security: needsToken,
  request: { params: orderParams },
  responses: {
    200: jsonResponse("The order, cancelled.", Order),
    202: jsonResponse("The order, still being cancelled (status cancelling).", Order),
    ...errorResponses([400, 401, 403, 404, 409], {
      403: FORBIDDEN,
      404: NOT_YOURS,
      409: "NOT_CANCELLABLE: the order has shipped; nothing changed.",
      504: "UPSTREAM_TIMEOUT: orders did not answer within the deadline; the cancel may still happen. Read the order, or cancel again (it is idempotent).",
    }),
  },
});

export const ordersRoutes = (orders: UpstreamClient, deadlines: { readMs: number; cancelMs: number }) => {
  const router = openApiRouter<{ Variables: AuthVariables }>();
  router.use(requireIdentity(), requireUser());
  return router
    .openapi(list, (c) => {
      const { after, limit } = c.req.valid("query");
      const query = new URLSearchParams();
      if (after !== undefined) query.set("after", String(after));
      if (limit !== undefined) query.set("limit", String(limit));
      const qs = query.size ? `?${query}` : "";
      return passedOn(forward(c, orders, deadlines.readMs, "GET", `/users/${userOf(c)}/orders${qs}`));
    })
    .openapi(one, (c) => passedOn(forward(c, orders, deadlines.readMs, "GET", `/users/${userOf(c)}/orders/${c.req.valid("param").id}`)))
    .openapi(cancel, (c) =>
      passedOn(forward(c, orders, deadlines.cancelMs, "POST", `/users/${userOf(c)}/orders/${c.req.valid("param").id}/cancel`)),
    );
};
