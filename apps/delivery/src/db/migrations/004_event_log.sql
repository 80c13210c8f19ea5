-- What the consumer of the delivery queue remembers. processed_events: every order event it has handled,
-- written in the transaction that applied it, so a redelivered event (same id) changes nothing; `outcome` says
-- what it did (applied, deferred, ignored and why).
create table processed_events (
  event_id     uuid primary key,
  type         text not null,
  outcome      text not null,
  processed_at timestamptz not null default now()
);

-- order.paid and order.cancelled that arrived before the order's order.created (the queue does not keep the
-- order of events): kept here and applied, then deleted, in the transaction that creates the delivery.
create table early_events (
  event_id    uuid primary key,
  order_id    integer not null check (order_id > 0),
  type        text not null check (type in ('order.paid', 'order.cancelled')),
  payload     jsonb not null,
  received_at timestamptz not null default now()
);
create index early_events_by_order on early_events (order_id, received_at);
