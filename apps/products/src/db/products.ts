// Query functions for the catalogue; each takes `sql` first.
import type { Sql, TransactionSql } from "postgres";
import type { ProductField } from "@storefront/shared/notifications/events";

export type ProductRow = {
  product_id: number;
  product_name: string;
  description: string;
  sku: string;
  price_cents: number;
  updated_at: Date;
};

/** Keyset page ordered by product_id: the rows after `after`, at most `limit`. */
export const listProducts = (sql: Sql, { limit, after }: { limit: number; after: number }) =>
  sql<ProductRow[]>`
    select product_id, product_name, description, sku, price_cents, updated_at
    from product
    where product_id > ${after}
    order by product_id
    limit ${limit}`;

/** The products among `productIds` that exist, by product_id; one query (the orders service prices a cart with it). */
export const listProductsByIds = (sql: Sql, productIds: readonly number[]) =>
  sql<ProductRow[]>`
    select product_id, product_name, description, sku, price_cents, updated_at
    from product
    where product_id = any(${sql.array(productIds as number[], 23)})
    order by product_id`;

export async function getProduct(sql: Sql, productId: number): Promise<ProductRow | null> {
  const [row] = await sql<ProductRow[]>`
    select product_id, product_name, description, sku, price_cents, updated_at
    from product where product_id = ${productId}`;
  return row ?? null;
}

export type ProductChanges = Partial<Pick<ProductRow, ProductField>>;

const EDITABLE: readonly ProductField[] = ["product_name", "price_cents", "description"];

/** The editable fields whose value differs between `before` and `after`, in a fixed order. */
export const changedFields = (before: ProductRow, after: ProductRow): ProductField[] => EDITABLE.filter((field) => before[field] !== after[field]);

/**
 * Applies `changes` (at least one field) in the caller's transaction and returns the product before and after,
 * or null for an unknown product. The row is locked first, so `before` is what this update replaced.
 */
export async function updateProduct(tx: TransactionSql, productId: number, changes: ProductChanges): Promise<{ before: ProductRow; after: ProductRow } | null> {
  const [before] = await tx<ProductRow[]>`
    select product_id, product_name, description, sku, price_cents, updated_at
    from product where product_id = ${productId}
    for update`;
  if (!before) return null;
  const [after] = await tx<ProductRow[]>`
    update product set ${tx(changes, Object.keys(changes) as (keyof ProductChanges)[])}, updated_at = now()
    where product_id = ${productId}
    returning product_id, product_name, description, sku, price_cents, updated_at`;
  return { before, after: after! };
}
