-- Seed couriers for the delivery service, which links its couriers 1 and 2 to users 7 and 8 by id.
-- The password is "storefront-demo", hashed the same way as 002_seed_users.sql (argon2id, m=19456, t=2, a salt
-- each), so logging in does not rehash them.
--
-- A database created before this migration may have given ids 7 and 8 (or the couriers' emails) to registered
-- accounts. Seeding around them would link the delivery service's couriers to somebody else's account, so the
-- migration stops instead, with a message saying what to do (it runs in one transaction: nothing is half-written).
do $$
begin
  if exists (
    select 1 from app_user
    where id in (7, 8) or lower(email) in ('courier1@storefront.test', 'courier2@storefront.test')
  ) then
    raise exception 'user ids 7 and 8 or the couriers'' emails are taken by registered accounts, but the delivery service links its couriers to them: start from a fresh users database (delete .data/users in development)';
  end if;
end $$;

insert into app_user (id, email, name, password_hash, role) values
  (7, 'courier1@storefront.test', 'Courier One', '$argon2id$v=19$m=19456,t=2,p=1$c0l3CfncYruGqqGzUJG6dKJQcF2mLvJrowElqo1nB8I$HBpMuoqQC9dbn0aSpa3SxlIFsMOvGj9OOuzUHzbsYZI', 'courier'),
  (8, 'courier2@storefront.test', 'Courier Two', '$argon2id$v=19$m=19456,t=2,p=1$4nW4k8Qo070WTvqSKSuMJ9YoR40ecRZoITBb4bTRcJA$3dDTuaEnv8sBjoQwY6sNmTWVgYPR51oxcc0R7wP6cMg', 'courier');

-- Explicit ids do not advance the identity; keep it past every id in use, so registrations get 9 and up.
select setval(pg_get_serial_sequence('app_user', 'id'), (select max(id) from app_user));
