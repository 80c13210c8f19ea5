// Query functions for user_cart; each takes `sql` first.
import type { Sql, TransactionSql } from "postgres";

export const MAX_LINE_QUANTITY = 999;

export type CartLineRow = { product_id: number; quantity: number };

export const listCart = (sql: Sql, userId: number) =>
  sql<CartLineRow[]>`
    select product_id, quantity from user_cart
    where user_id = ${userId}
    order by product_id`;

/**
 * Adds `quantity` to the line (creating it if missing) in one statement, so concurrent adds never lose an update.
 * Returns null when the new total would pass the cap: the `where` skips the update and nothing changes.
 */
export async function addToCart(sql: Sql | TransactionSql, userId: number, productId: number, quantity: number): Promise<CartLineRow | null> {
  const [row] = await sql<CartLineRow[]>`
    insert into user_cart (user_id, product_id, quantity) values (${userId}, ${productId}, ${quantity})
    on conflict (user_id, product_id) do update
      set quantity = user_cart.quantity + excluded.quantity, updated_at = now()
      where user_cart.quantity + excluded.quantity <= ${MAX_LINE_QUANTITY}
    returning product_id, quantity`;
  return row ?? null;
}

/** Sets the line's quantity, creating the line if missing. */
export async function setCartQuantity(sql: Sql | TransactionSql, userId: number, productId: number, quantity: number): Promise<CartLineRow> {
  const [row] = await sql<CartLineRow[]>`
    insert into user_cart (user_id, product_id, quantity) values (${userId}, ${productId}, ${quantity})
    on conflict (user_id, product_id) do update
      set quantity = excluded.quantity, updated_at = now()
    returning product_id, quantity`;
  return row!;
}

/** Returns whether a line was there to remove. */
export async function removeFromCart(sql: Sql | TransactionSql, userId: number, productId: number): Promise<boolean> {
  const rows = await sql`delete from user_cart where user_id = ${userId} and product_id = ${productId} returning product_id`;
  return rows.length > 0;
}

/** The number of lines in the user's cart; in the changing transaction, it counts that change. */
export async function countCartLines(sql: Sql | TransactionSql, userId: number): Promise<number> {
  const [row] = await sql<{ lines: number }[]>`select count(*)::int as lines from user_cart where user_id = ${userId}`;
  return row!.lines;
}
