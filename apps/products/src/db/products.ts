// Query functions for the catalogue; each takes `sql` first.
import type { Sql } from "postgres";

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

export async function getProduct(sql: Sql, productId: number): Promise<ProductRow | null> {
  const [row] = await sql<ProductRow[]>`
    select product_id, product_name, description, sku, price_cents, updated_at
    from product where product_id = ${productId}`;
  return row ?? null;
}
