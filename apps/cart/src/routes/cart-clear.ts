// POST /users/:id/cart/clear: the orders saga takes an order's lines out of the customer's cart once the order
// is paid for. Once per order id (a retry is a no-op 200); only the ordered quantities go, so what the customer
// added after checking out stays. A change writes cart.changed in the same transaction (the notifications
// worker then re-arms or cancels the cart reminder). For services and admins only: a customer's token is 403
// even for their own cart, checked before the path or body is looked at.
import { Hono } from "hono";
import type { Sql } from "postgres";
import { z } from "zod";
import { requireRole } from "@storefront/shared/auth/authenticate";
import { AppError } from "@storefront/shared/errors";
import { writeEvent, type OutboxWaker } from "@storefront/shared/outbox/write-event";
import { idParams, positiveInt, validate } from "@storefront/shared/validate";
import { countCartLines, MAX_LINE_QUANTITY } from "../db/cart.ts";
import { recordClearing, subtractFromCart } from "../db/cart-clearings.ts";

export const MAX_CLEAR_ITEMS = 100;

const clearBody = z.strictObject({
  // The orders service's bigint ids: any positive integer a JSON number holds exactly.
  order_id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  items: z
    .array(z.strictObject({ product_id: positiveInt, quantity: z.number().int().min(1).max(MAX_LINE_QUANTITY) }))
    .min(1)
    .max(MAX_CLEAR_ITEMS)
    .refine((items) => new Set(items.map((i) => i.product_id)).size === items.length, "each product_id at most once"),
});

type Cleared = { changed: boolean; lines: number } | { otherUser: number };

export const cartClearRoutes = (sql: Sql, outbox?: OutboxWaker) =>
  new Hono().post("/:id/cart/clear", requireRole("service", "admin"), validate("param", idParams), validate("json", clearBody), async (c) => {
    const { id } = c.req.valid("param");
    const { order_id, items } = c.req.valid("json");
    const result = await sql.begin(async (tx): Promise<Cleared> => {
      const earlier = await recordClearing(tx, order_id, id);
      if (earlier && earlier.userId !== id) return { otherUser: earlier.userId };
      // Already cleared for this order: the same answer, nothing taken out twice.
      const changed = earlier ? false : await subtractFromCart(tx, id, items);
      const lines = await countCartLines(tx, id);
      if (changed) await writeEvent(tx, { type: "cart.changed", payload: { user_id: id, items: lines } });
      return { changed, lines };
    });
    // The other user is not named: the caller learns only that this order id is taken.
    if ("otherUser" in result) throw new AppError(409, "CONFLICT", `order ${order_id} was cleared from another user's cart`);
    if (result.changed) outbox?.wake();
    return c.json({ order_id, cleared: true, lines: result.lines });
  });
