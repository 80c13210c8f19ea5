-- One row per order whose lines were taken out of a user's cart at checkout: the orders saga may call again
-- (a retry after a timeout), and the second call must not take the same quantities out twice.
create table cart_clearings (
  order_id   bigint primary key check (order_id > 0),
  user_id    integer not null,
  cleared_at timestamptz not null default now()
);
