// Query functions for stock levels; each takes `sql` first.
import type { Sql } from "postgres";

export type StockRow = { product_id: number; inventory: number };

export async function getStock(sql: Sql, productId: number): Promise<StockRow | null> {
  const [row] = await sql<StockRow[]>`
    select product_id, inventory from stock where product_id = ${productId}`;
  return row ?? null;
}

/** The rows that exist for `productIds`, in one query; order is the caller's business. */
export const listStock = (sql: Sql, productIds: readonly number[]) =>
  sql<StockRow[]>`
    select product_id, inventory from stock
    where product_id = any(${sql.array(productIds as number[], 23)})`;

/** Sets the stock level, creating the row when the product had none. */
export async function setStock(sql: Sql, productId: number, inventory: number): Promise<StockRow> {
  const [row] = await sql<StockRow[]>`
    insert into stock (product_id, inventory, updated_at) values (${productId}, ${inventory}, now())
    on conflict (product_id) do update set inventory = excluded.inventory, updated_at = excluded.updated_at
    returning product_id, inventory`;
  return row!;
}
