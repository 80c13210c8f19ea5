create table user_cart (
  user_id    integer not null,
  product_id integer not null,
  -- The cap lives here too, so no code path can store a line outside it.
  quantity   integer not null check (quantity between 1 and 999),
  updated_at timestamptz not null default now(),
  primary key (user_id, product_id)
);
