-- What the delivery service told us about each order's delivery (its events on the "orders" queue), and the
-- events already applied. The order's own status moves with it (shipped, delivered: allowed since 001); these
-- columns keep the delivery's side: its status in the delivery service's words, the courier's name, and when
-- that status was reached. Null until the first delivery event for the order.
alter table orders
  add column delivery_status     text check (delivery_status in ('activated', 'done', 'canceled')),
  add column delivery_courier    text,
  add column delivery_updated_at timestamptz;

-- One row per delivery event applied, written in the transaction that applies it: a job run twice (a stalled
-- job, the relay re-publishing after the completed job aged out) finds its row and changes nothing.
create table processed_events (
  event_id     uuid primary key,
  type         text not null,
  processed_at timestamptz not null default now()
);
