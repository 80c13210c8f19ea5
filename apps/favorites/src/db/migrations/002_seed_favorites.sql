-- Seed favorites, inserted once: user 1 and user 3 each like products 1-3; user 2 has none.
insert into user_favorite (user_id, product_id) values
  (1, 1), (1, 2), (1, 3),
  (3, 1), (3, 2), (3, 3);
