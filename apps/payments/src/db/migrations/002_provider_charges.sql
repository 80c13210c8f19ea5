-- The simulated card provider's own ledger (src/provider.ts), in this database because the provider is simulated.
-- Keyed by the payment id the service sends: asking again for the same payment returns this row, never a new charge.
create table provider_charges (
  payment_id     uuid primary key,
  amount_cents   integer not null check (amount_cents > 0),
  card_token     text not null,
  outcome        text not null check (outcome in ('succeeded', 'declined')),
  decline_reason text,
  provider_ref   text not null unique,
  charged_at     timestamptz not null default now(),
  -- Set once, by the first refund; later refunds return it unchanged.
  refunded_at    timestamptz,
  check ((outcome = 'declined') = (decline_reason is not null)),
  check (refunded_at is null or outcome = 'succeeded')
);
