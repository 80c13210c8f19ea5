-- One delivery per order (the orders service's id), created by order.created and moved through its states by
-- src/state-machine.ts: created -> activated (paid) -> activated with a courier -> done, or canceled from any
-- state but done. `version` goes up by one with every transition; each transition is an update conditioned on
-- the status and version it read, so two concurrent moves cannot both apply.
create table deliveries (
  order_id         integer primary key check (order_id > 0),
  user_id          integer not null check (user_id > 0),
  shipping_address jsonb not null,
  delivery_date    date,
  status           text not null default 'created' check (status in ('created', 'activated', 'done', 'canceled')),
  courier_id       integer references couriers (courier_id),
  version          integer not null default 1 check (version > 0),
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  -- The last guards, whatever the code does: a courier is given only once the order is paid, and nothing is
  -- done without one.
  check (status <> 'created' or courier_id is null),
  check (status <> 'done' or courier_id is not null)
);
-- The managers' list (by status or all) and each courier's own list, both in order_id order.
create index deliveries_by_status on deliveries (status, order_id);
create index deliveries_by_courier on deliveries (courier_id, order_id) where courier_id is not null;

-- Every transition, with who made it: "event order.paid", "admin user 6", "courier 1". The first row of a
-- delivery has no from_status (its creation).
create table delivery_history (
  id          bigint generated always as identity primary key,
  order_id    integer not null references deliveries (order_id),
  from_status text check (from_status in ('created', 'activated', 'done', 'canceled')),
  to_status   text not null check (to_status in ('created', 'activated', 'done', 'canceled')),
  courier_id  integer references couriers (courier_id),
  by          text not null,
  at          timestamptz not null default now()
);
create index delivery_history_by_order on delivery_history (order_id, id);
