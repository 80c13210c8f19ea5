-- Seed catalogue, inserted once (this file is recorded in schema_migrations like any other).
insert into product (product_id, product_name, description, sku, price_cents) values
  (1,  'Espresso beans 1 kg',     'Dark roast, whole beans',             'COF-ESP-1000', 2490),
  (2,  'Filter coffee 500 g',     'Light roast, ground for filter',      'COF-FIL-0500', 1290),
  (3,  'Ceramic pour-over',       'Size 02 dripper',                      'BRW-POV-0002', 2200),
  (4,  'Paper filters (100)',     'Fits size 02 drippers',                'BRW-FLT-0100',  490),
  (5,  'Gooseneck kettle',        '1 litre, stovetop',                    'BRW-KTL-1000', 4500),
  (6,  'Burr grinder',            'Conical burrs, 40 settings',           'GRD-BUR-0040', 8900),
  (7,  'Milk jug 350 ml',         'Stainless steel',                      'ACC-JUG-0350', 1500),
  (8,  'Digital scale',           '0.1 g resolution with timer',          'ACC-SCL-0001', 2900),
  (9,  'Travel mug',              'Double wall, 350 ml',                  'ACC-MUG-0350', 1990),
  (10, 'Descaler',                'Citric acid, 4 doses',                 'CLN-DSC-0004',  790),
  (11, 'Cold brew jar',           '1 litre with filter',                  'BRW-CLD-1000', 2600),
  (12, 'Tasting cups (set of 4)', 'Porcelain cupping bowls',              'ACC-CUP-0004', 1800);
-- Explicit ids above; move the identity past them so new products do not collide.
select setval(pg_get_serial_sequence('product', 'product_id'), (select max(product_id) from product));
