-- Couriers, each linked to a user of the users service (role courier) by that user's id: a courier's token
-- carries the user id, and the courier routes find the caller's courier through it. No foreign key: the users
-- live in the users service's own database.
create table couriers (
  courier_id integer primary key check (courier_id > 0),
  user_id    integer not null unique check (user_id > 0),
  name       text not null check (name <> '')
);
-- The seeded couriers: users 7 and 8 are courier1@ and courier2@storefront.test in the users service's seed.
insert into couriers (courier_id, user_id, name) values
  (1, 7, 'Courier One'),
  (2, 8, 'Courier Two');
