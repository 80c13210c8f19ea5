-- Who favorited a product, in user_id order (GET /products/:id/favorited-by): the primary key leads with
-- user_id, so without this index each page would scan the whole table.
create index user_favorite_product_user on user_favorite (product_id, user_id);
