create table user_favorite (
  user_id    integer not null,
  product_id integer not null,
  created_at timestamptz not null default now(),
  primary key (user_id, product_id)
);
