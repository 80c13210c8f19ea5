// Query functions for user_favorite; each takes `sql` first.
import type { Sql } from "postgres";

export type FavoriteRow = { product_id: number };
export type FavoritedByRow = { user_id: number };

export const listFavorites = (sql: Sql, userId: number) =>
  sql<FavoriteRow[]>`
    select product_id from user_favorite
    where user_id = ${userId}
    order by product_id`;

/** Adds a favorite; `added` is false when it was already there (the insert is a no-op then). */
export async function addFavorite(sql: Sql, userId: number, productId: number): Promise<{ added: boolean }> {
  const rows = await sql`
    insert into user_favorite (user_id, product_id) values (${userId}, ${productId})
    on conflict (user_id, product_id) do nothing
    returning product_id`;
  return { added: rows.length > 0 };
}

export async function removeFavorite(sql: Sql, userId: number, productId: number): Promise<void> {
  await sql`delete from user_favorite where user_id = ${userId} and product_id = ${productId}`;
}

/** Keyset page of the users who favorited a product, ordered by user_id: those after `after`, at most `limit`. */
export const listFavoritedBy = (sql: Sql, productId: number, { after, limit }: { after: number; limit: number }) =>
  sql<FavoritedByRow[]>`
    select user_id from user_favorite
    where product_id = ${productId} and user_id > ${after}
    order by user_id
    limit ${limit}`;
