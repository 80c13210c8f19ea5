-- Seed carts, inserted once: users 1 and 2 have three lines each; user 3 has an empty cart.
insert into user_cart (user_id, product_id, quantity) values
  (1, 1, 1), (1, 2, 1), (1, 3, 1),
  (2, 1, 1), (2, 2, 1), (2, 5, 1);
