-- One row per (event, recipient, channel). 'inbox' rows are what the user reads; 'webhook' rows record a
-- delivery the webhook receiver acknowledged, so a retried job never re-sends to a recipient who got it.
create table inbox (
  id         bigint generated always as identity primary key,
  user_id    int not null,
  event_id   text not null,
  channel    text not null check (channel in ('inbox', 'webhook')),
  type       text not null,
  title      text not null,
  body       text not null,
  payload    jsonb not null,
  created_at timestamptz not null default now(),
  read_at    timestamptz,
  unique (event_id, user_id, channel)
);

-- A user's inbox, newest first, keyset by id.
create index inbox_user_id_desc on inbox (user_id, id desc);
