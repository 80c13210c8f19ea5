// The delivery service's shapes as the BFF documents them (a delivery, a courier, a page of deliveries), and the
// page query the admin's and the courier's lists share. The routes are in admin-deliveries.ts and courier.ts.
import { z } from "@hono/zod-openapi";
import { MAX_INT4, positiveIntString } from "@storefront/shared/validate";
import { DeliveryStatus } from "./delivery-status.ts";
import { ShippingAddress } from "./orders.ts";

const MAX_PAGE = 100;

// A named schema that may be null is written z.union([Schema, z.null()]): the document generator drops the
// null from Schema.nullable() (it writes a bare $ref), so the document would say "never null".
const positiveInt = z.number().int().positive().max(MAX_INT4);
const orderId = positiveInt.openapi({ description: "The order's id: a delivery is named by its order.", example: 41 });
const courierId = positiveInt.openapi({ example: 1 });

export const Courier = z.strictObject({ courier_id: courierId, name: z.string().openapi({ example: "Courier One" }) }).openapi("Courier");

export const DeliveryStep = z
  .strictObject({
    from: z.union([DeliveryStatus, z.null()]).openapi({ description: "null for the step that created the delivery." }),
    to: DeliveryStatus,
    at: z.iso.datetime(),
    by: z.string().openapi({ description: "What made the step: an event, an admin, a courier.", example: "event order.paid" }),
  })
  .openapi("DeliveryStep");

export const Delivery = z
  .strictObject({
    order_id: orderId,
    user_id: positiveInt.openapi({ description: "The customer who placed the order." }),
    status: DeliveryStatus,
    shipping_address: ShippingAddress,
    delivery_date: z.iso.date().nullable().openapi({ description: "The day the customer asked for, YYYY-MM-DD; null for as soon as possible." }),
    courier: z.union([Courier, z.null()]).openapi({ description: "The courier assigned; null until one is." }),
    version: z.number().int().min(0).openapi({ description: "Goes up with each change." }),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    history: z.array(DeliveryStep).openapi({ description: "Every change of status, oldest first." }),
  })
  .openapi("Delivery");

export const DeliveryPage = z
  .strictObject({
    deliveries: z.array(Delivery),
    next_after: orderId.nullable().openapi({ description: "Pass as `after` for the next page; null on the last one." }),
  })
  .openapi("DeliveryPage");

export const deliveryPageQuery = z.strictObject({
  status: DeliveryStatus.optional().openapi({ description: "Only deliveries in this status." }),
  after: positiveIntString.optional().openapi({ description: "Only deliveries of later orders: the previous page's `next_after`.", example: "41" }),
  limit: positiveIntString
    .refine((n) => n <= MAX_PAGE, `must be at most ${MAX_PAGE}`)
    .optional()
    .openapi({ description: `How many, 1-${MAX_PAGE}; 20 when left out.`, example: "20" }),
});

export const deliveryParams = z.strictObject({ id: positiveIntString.openapi({ description: "The order's id (a delivery is named by its order).", example: "41" }) });

/** The validated page query as the delivery service takes it: `?status=..&after=..&limit=..`, or "" for none. */
export function pageQueryString(query: z.output<typeof deliveryPageQuery>): string {
  const params = new URLSearchParams();
  if (query.status !== undefined) params.set("status", query.status);
  if (query.after !== undefined) params.set("after", String(query.after));
  if (query.limit !== undefined) params.set("limit", String(query.limit));
  return params.size ? `?${params}` : "";
}
