-- Seed stock for the seeded catalogue (products 1..12). Product 6 is at 0 so "out of stock" shows in the demo.
insert into stock (product_id, inventory) values
  (1, 42), (2, 17), (3, 8), (4, 250), (5, 3), (6, 0),
  (7, 25), (8, 11), (9, 60), (10, 140), (11, 5), (12, 19);
