// Query functions for stock levels; each takes `sql` first. A row holds the on-hand count (`inventory`) and
// what active reservations hold of it (`reserved`); clients see available = inventory - reserved.
import type { Sql, TransactionSql } from "postgres";

/** What the batch read answers: `inventory` is the available count. */
export type StockRow = { product_id: number; inventory: number };
/** One product's stock in full: `inventory` available (as in the batch read), `on_hand` and `reserved` beside it. */
export type StockView = StockRow & { on_hand: number; reserved: number };

export async function getStock(sql: Sql, productId: number): Promise<StockView | null> {
  const [row] = await sql<StockView[]>`
    select product_id, inventory - reserved as inventory, inventory as on_hand, reserved
    from stock where product_id = ${productId}`;
  return row ?? null;
}

/** The rows that exist for `productIds` (available counts), in one query; order is the caller's business. */
export const listStock = (sql: Sql, productIds: readonly number[]) =>
  sql<StockRow[]>`
    select product_id, inventory - reserved as inventory from stock
    where product_id = any(${sql.array(productIds as number[], 23)})`;

export type SetStockResult =
  /** `previousAvailable` null: the product had no row before. */
  | { stock: StockView; previousAvailable: number | null }
  /** The new on-hand count is below what reservations hold; nothing was changed. */
  | { belowReserved: number };

/**
 * Sets the on-hand count in the caller's transaction, creating the row when the product had none, and returns
 * the available count it replaced. The old row is read under its lock, so two concurrent sets each see what
 * the other left, and a reservation cannot slip in between the check against `reserved` and the update.
 */
export async function setStock(tx: TransactionSql, productId: number, onHand: number): Promise<SetStockResult> {
  for (;;) {
    const [current] = await tx<{ inventory: number; reserved: number }[]>`
      select inventory, reserved from stock where product_id = ${productId} for update`;
    if (current) {
      if (onHand < current.reserved) return { belowReserved: current.reserved };
      const [stock] = await tx<StockView[]>`
        update stock set inventory = ${onHand}, updated_at = now() where product_id = ${productId}
        returning product_id, inventory - reserved as inventory, inventory as on_hand, reserved`;
      return { stock: stock!, previousAvailable: current.inventory - current.reserved };
    }
    const [stock] = await tx<StockView[]>`
      insert into stock (product_id, inventory, updated_at) values (${productId}, ${onHand}, now())
      on conflict (product_id) do nothing
      returning product_id, inventory - reserved as inventory, inventory as on_hand, reserved`;
    if (stock) return { stock, previousAvailable: null };
    // Another request created the row after our select: go round once more and lock it.
  }
}
