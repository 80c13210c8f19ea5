// Query functions for taking an order's lines out of a cart once per order (cart_clearings); each takes `sql` first.
import type { TransactionSql } from "postgres";
import type { CartLineRow } from "./cart.ts";

/**
 * Records the clearing of `orderId` for `userId`. Returns null when this call recorded it, else the user it was
 * recorded for before. A concurrent call for the same order waits on this insert until it commits or rolls back.
 */
export async function recordClearing(tx: TransactionSql, orderId: number, userId: number): Promise<{ userId: number } | null> {
  const [recorded] = await tx`
    insert into cart_clearings (order_id, user_id) values (${orderId}, ${userId})
    on conflict (order_id) do nothing
    returning order_id`;
  if (recorded) return null;
  const [earlier] = await tx<{ user_id: number }[]>`select user_id from cart_clearings where order_id = ${orderId}`;
  return { userId: earlier!.user_id };
}

/**
 * Takes the ordered quantities out of the user's lines: a line left with nothing is deleted, a line with more
 * (the customer added some after checking out) keeps the rest, lines of other products are not touched.
 * Returns whether any line changed.
 */
export async function subtractFromCart(tx: TransactionSql, userId: number, ordered: readonly CartLineRow[]): Promise<boolean> {
  const byProduct = new Map(ordered.map((line) => [line.product_id, line.quantity]));
  // Locked first, in product order, so a concurrent add to one of these lines waits and then adds to what is left.
  const lines = await tx<CartLineRow[]>`
    select product_id, quantity from user_cart
    where user_id = ${userId} and product_id = any(${tx.array([...byProduct.keys()], 23)})
    order by product_id
    for update`;
  const emptied = lines.filter((line) => line.quantity <= byProduct.get(line.product_id)!).map((line) => line.product_id);
  const lowered = lines.filter((line) => line.quantity > byProduct.get(line.product_id)!);
  if (emptied.length > 0) {
    await tx`delete from user_cart where user_id = ${userId} and product_id = any(${tx.array(emptied, 23)})`;
  }
  if (lowered.length > 0) {
    await tx`
      update user_cart c set quantity = c.quantity - o.quantity, updated_at = now()
      from unnest(
        ${tx.array(lowered.map((line) => line.product_id), 23)}::int[],
        ${tx.array(lowered.map((line) => byProduct.get(line.product_id)!), 23)}::int[]
      ) as o(product_id, quantity)
      where c.user_id = ${userId} and c.product_id = o.product_id`;
  }
  return lines.length > 0;
}
