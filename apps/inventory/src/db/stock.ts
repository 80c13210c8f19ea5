// Query functions for stock levels; each takes `sql` first.
import type { Sql, TransactionSql } from "postgres";

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

/**
 * Sets the stock level in the caller's transaction, creating the row when the product had none, and returns the
 * level it replaced (null: no row before). The old value is read under the row's lock, so two concurrent sets
 * each see the value the other left, never a stale one.
 */
export async function setStock(tx: TransactionSql, productId: number, inventory: number): Promise<{ stock: StockRow; previous: number | null }> {
  for (;;) {
    const [current] = await tx<{ inventory: number }[]>`
      select inventory from stock where product_id = ${productId} for update`;
    if (current) {
      const [stock] = await tx<StockRow[]>`
        update stock set inventory = ${inventory}, updated_at = now() where product_id = ${productId}
        returning product_id, inventory`;
      return { stock: stock!, previous: current.inventory };
    }
    const [stock] = await tx<StockRow[]>`
      insert into stock (product_id, inventory, updated_at) values (${productId}, ${inventory}, now())
      on conflict (product_id) do nothing
      returning product_id, inventory`;
    if (stock) return { stock, previous: null };
    // Another request created the row after our select: go round once more and lock it.
  }
}
