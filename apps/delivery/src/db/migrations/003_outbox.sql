-- The transactional outbox (shared/src/outbox): events written in the same transaction as the change they
-- describe, moved to the notifications queue by the service's relay. Every emitting service has this file
-- as a migration of its own; keep the copies identical (the services' tests compare them with this one).
create table outbox (
  id           uuid primary key default gen_random_uuid(),
  type         text not null,
  payload      jsonb not null,
  created_at   timestamptz not null default now(),
  published_at timestamptz
);
-- The relay only ever asks for the pending rows, oldest first; published ones stay out of this index.
create index outbox_pending on outbox (created_at) where published_at is null;
