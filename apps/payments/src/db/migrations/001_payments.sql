-- One row per Idempotency-Key: the charge it asked for and how it ended. A row is `processing` while a request
-- holds its lease (processing_until) and asks the card provider; the answer replayed for the key comes from here.
create table payments (
  id               uuid primary key,
  idempotency_key  text not null unique,
  -- sha256 of the canonical request body: the same key with another body is refused, not replayed.
  request_hash     text not null,
  -- No foreign key: orders live in the orders service's own database.
  order_id         integer not null check (order_id > 0),
  amount_cents     integer not null check (amount_cents > 0 and amount_cents <= 100000000),
  -- The test card's token name (tok_visa), never a card number.
  card_last        text not null,
  status           text not null check (status in ('processing', 'succeeded', 'declined', 'refunded')),
  decline_reason   text,
  provider_ref     text,
  -- Until then the request that set it owns the charge; after it, a request with the same key may take it over.
  processing_until timestamptz,
  -- Counts the requests that held the lease: a request only drops or releases the row while it is still the holder.
  attempt          integer not null default 1,
  refunded_at      timestamptz,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  check ((status = 'processing') = (processing_until is not null)),
  check ((status = 'declined') = (decline_reason is not null)),
  check ((status = 'refunded') = (refunded_at is not null))
);

-- GET /payments?order_id=N, oldest first.
create index payments_by_order on payments (order_id, created_at);

-- At most one payment per order that is being charged or has been charged (a declined or refunded one does not
-- count): a second key for the same order cannot charge it twice, even when two arrive at once.
create unique index payments_one_live_per_order on payments (order_id) where status in ('processing', 'succeeded');
