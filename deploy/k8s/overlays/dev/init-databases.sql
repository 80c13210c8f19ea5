-- Run once by the postgres image when its data directory is empty: one database per service,
-- the same split as the embedded default (each service owns its data and migrates it on start).
create database products;
create database inventory;
create database favorites;
create database cart;
create database notifications;
create database users;
create database payments;
create database orders;
create database delivery;
