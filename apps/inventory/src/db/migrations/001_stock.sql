-- Stock per product. No foreign key: the catalogue lives in the products service's own database.
create table stock (
  product_id integer primary key check (product_id > 0),
  inventory  integer not null check (inventory >= 0),
  updated_at timestamptz not null default now()
);
