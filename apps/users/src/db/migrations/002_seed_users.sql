-- Seed accounts: users 1-5 own the seeded carts and favorites (their ids must stay 1-5), 6 is an admin.
-- Every password is "storefront-demo", hashed once (each with its own salt)
-- with argon2id at m=19456, t=2, the default cost, so logging in does not rehash them.
insert into app_user (id, email, name, password_hash, role) values
  (1, 'user1@storefront.test', 'User 1', '$argon2id$v=19$m=19456,t=2,p=1$6TCq5jY2Q5OxCexDoG4j/ckQIETsaFuCS/+l+RNfUH8$lK+HknTI5KBn2/z3NemVdW4rIdp9ISAqFE/wVVTE42o', 'customer'),
  (2, 'user2@storefront.test', 'User 2', '$argon2id$v=19$m=19456,t=2,p=1$GDWqYJ4eRxOlqukcJdIAl5I5+9hkPFjM7w9baOSCFH0$IsQIzwd5XNNPTutbApvPZWNWmR+1uGckCXSSIDjsC3E', 'customer'),
  (3, 'user3@storefront.test', 'User 3', '$argon2id$v=19$m=19456,t=2,p=1$kSDceHr7n5mDCgQBAXSM/l8XnZ8zRokb/gsknK1zDbU$WTw7GeepufUQsdVSjaBK1unq4hr53GBgATwYZIdGmKI', 'customer'),
  (4, 'user4@storefront.test', 'User 4', '$argon2id$v=19$m=19456,t=2,p=1$+1GUDmosQ5cUimQkO8Y41y6Fet3ZZxXluSkG7sP/ohw$37gpKFJSTZqUiJtJaEloM2/azTqBfbiwi1DOS3N3T6o', 'customer'),
  (5, 'user5@storefront.test', 'User 5', '$argon2id$v=19$m=19456,t=2,p=1$0NexsyLyR3mJpUskcMDLCkXVft4XXOqxAx8IzL0pefw$ePg2UWi6L2/osiUtU5ojuBTKJ2MQpoRwHcRFWwJXWMc', 'customer'),
  (6, 'admin@storefront.test', 'Admin', '$argon2id$v=19$m=19456,t=2,p=1$CzZQxbcfGqRivGHkh5KofRJXtB2gBNbw7hbX3fxxQvU$PwtTSuSHKL/ZdZmCbhpR2AZiU1xuFNpl/MYK6+uIbIE', 'admin');

-- Explicit ids do not advance the identity; move it past the seed so registrations get 7 and up.
select setval(pg_get_serial_sequence('app_user', 'id'), (select max(id) from app_user));
