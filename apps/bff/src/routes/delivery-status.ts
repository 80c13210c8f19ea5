// A delivery's status, on its own so the error envelope (openapi/responses.ts, INVALID_TRANSITION's `status`)
// can name it without importing the routes that import the envelope.
import { z } from "@hono/zod-openapi";

export const DELIVERY_STATUSES = ["created", "activated", "done", "canceled"] as const;

export const DeliveryStatus = z.enum(DELIVERY_STATUSES).openapi("DeliveryStatus", {
  description:
    "created: the order is placed, not paid yet; activated: paid, ready for (or with) a courier; done: delivered; canceled: the order was cancelled.",
});
