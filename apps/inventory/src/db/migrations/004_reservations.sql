-- Stock reservations for checkout. `stock.inventory` stays the on-hand count; `stock.reserved` is the part of it
-- held by active reservations, so what a customer can still buy is inventory - reserved.
alter table stock add column reserved integer not null default 0;
alter table stock add constraint stock_reserved_not_negative check (reserved >= 0);
-- The last guard against overselling: no code path can hold more than is on hand.
alter table stock add constraint stock_reserved_within_inventory check (reserved <= inventory);

-- One reservation per order (the orders service's id). A release for an order never reserved leaves a
-- 'released' row without items (a tombstone), so a late reserve for it takes no stock.
create table reservations (
  order_id   bigint primary key check (order_id > 0),
  status     text not null check (status in ('active', 'committed', 'released', 'expired', 'returned')),
  -- Null only for a tombstone: it never held anything that could expire.
  expires_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (status <> 'active' or expires_at is not null)
);

create table reservation_items (
  order_id   bigint not null references reservations (order_id),
  -- Stock rows are never deleted, and only products with one can be reserved.
  product_id integer not null references stock (product_id),
  quantity   integer not null check (quantity > 0),
  primary key (order_id, product_id)
);

-- The sweeper asks only for active reservations past their expiry, soonest first.
create index reservations_active_by_expiry on reservations (expires_at) where status = 'active';
