// /users/:id/cart: list a user's cart, add to a line, set a line's quantity, remove a line. Every change
// writes a cart.changed event in the same transaction as the change. A customer's token reaches only their
// own cart (admins and services any): checked first, before the path, body or database is looked at.
import { Hono } from "hono";
import type { Sql, TransactionSql } from "postgres";
import { z } from "zod";
import { requireSelf } from "@storefront/shared/auth/authenticate";
import { AppError } from "@storefront/shared/errors";
import { writeEvent, type OutboxWaker } from "@storefront/shared/outbox/write-event";
import { idParams, positiveInt, userProductParams, validate } from "@storefront/shared/validate";
import { addToCart, countCartLines, listCart, MAX_LINE_QUANTITY, removeFromCart, setCartQuantity } from "../db/cart.ts";
import { underDeadline } from "@storefront/shared/deadline-propagation";

const quantity = z.number().int().min(1).max(MAX_LINE_QUANTITY);
const addBody = z.strictObject({ product_id: positiveInt, quantity: quantity.default(1) });
const setBody = z.strictObject({ quantity });

/**
 * Runs `change` in a transaction; when it changed the cart (did not return null), writes cart.changed with the
 * number of lines after it in the same transaction, and wakes the relay once that has committed.
 */
async function changeCart<T>(sql: Sql, outbox: OutboxWaker | undefined, userId: number, change: (tx: TransactionSql) => Promise<T | null>): Promise<T | null> {
  const result = (await sql.begin(async (tx) => {
    const result = await change(tx);
    if (result !== null) await writeEvent(tx, { type: "cart.changed", payload: { user_id: userId, items: await countCartLines(tx, userId) } });
    return result;
  })) as T | null;
  if (result !== null) outbox?.wake();
  return result;
}

export const cartRoutes = (sql: Sql, outbox?: OutboxWaker) =>
  new Hono()
    .get("/:id/cart", requireSelf(), validate("param", idParams), async (c) => {
      const { id } = c.req.valid("param");
      return c.json(await underDeadline(c, listCart(sql, id)));
    })
    .post("/:id/cart", requireSelf(), validate("param", idParams), validate("json", addBody), async (c) => {
      const { id } = c.req.valid("param");
      const { product_id, quantity } = c.req.valid("json");
      const line = await changeCart(sql, outbox, id, (tx) => addToCart(tx, id, product_id, quantity));
      if (!line) throw new AppError(409, "CONFLICT", `adding ${quantity} of product ${product_id} would take the line above ${MAX_LINE_QUANTITY}`);
      return c.json(line);
    })
    .put("/:id/cart/:product_id", requireSelf(), validate("param", userProductParams), validate("json", setBody), async (c) => {
      const { id, product_id } = c.req.valid("param");
      const { quantity } = c.req.valid("json");
      return c.json(await changeCart(sql, outbox, id, (tx) => setCartQuantity(tx, id, product_id, quantity)));
    })
    .delete("/:id/cart/:product_id", requireSelf(), validate("param", userProductParams), async (c) => {
      const { id, product_id } = c.req.valid("param");
      // A line that was not there is still a 204 (idempotent), but no change and so no event.
      await changeCart(sql, outbox, id, async (tx) => ((await removeFromCart(tx, id, product_id)) ? true : null));
      return c.body(null, 204);
    });
