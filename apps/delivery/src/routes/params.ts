// What the delivery routes share: the order id in the path, the keyset page query, the 409 for a move the state
// machine refuses, and a page answered as {deliveries, next_after}.
import type { Context } from "hono";
import type { Sql } from "postgres";
import { z } from "zod";
import { errorResponse } from "@storefront/shared/errors";
import { positiveIntString } from "@storefront/shared/validate";
import { listDeliveries, type PageQuery } from "../db/delivery-views.ts";
import { STATUSES, type DeliveryStatus } from "../state-machine.ts";

export const MAX_PAGE = 100;
export const DEFAULT_PAGE = 20;

export const orderParams = z.strictObject({ order_id: positiveIntString });

export const pageQuery = z.strictObject({
  status: z.enum(STATUSES).optional(),
  // 0 starts from the beginning as leaving it out does.
  after: z.union([z.literal("0").transform(() => 0), positiveIntString]).optional(),
  limit: positiveIntString.refine((n) => n <= MAX_PAGE, `must be at most ${MAX_PAGE}`).optional(),
});

/** One page, and the cursor for the next: one row more than asked tells whether there is one. */
export async function deliveryPage(sql: Sql, query: Omit<PageQuery, "limit"> & { limit?: number }) {
  const limit = query.limit ?? DEFAULT_PAGE;
  const rows = await listDeliveries(sql, { ...query, limit: limit + 1 });
  const deliveries = rows.slice(0, limit);
  return { deliveries, next_after: rows.length > limit ? deliveries.at(-1)!.order_id : null };
}

/**
 * 409 INVALID_TRANSITION naming the current status (also as `status`). INVALID_TRANSITION is not in the shared
 * ErrorCode list, so this answers with errorResponse rather than throwing an AppError.
 */
export const invalidTransition = (c: Context, orderId: number, refused: { status: DeliveryStatus; reason: string }) =>
  errorResponse(c, 409, "INVALID_TRANSITION", `the delivery for order ${orderId} is ${refused.status}: ${refused.reason}`, { status: refused.status });
