// Couriers (seeded; each linked to a user with role courier). Each function takes `sql` first.
import type { Sql, TransactionSql } from "postgres";

type AnySql = Sql | TransactionSql;

export type Courier = { courier_id: number; name: string };

export const listCouriers = (sql: AnySql) => sql<Courier[]>`select courier_id, name from couriers order by courier_id`;

export async function findCourier(sql: AnySql, courierId: number): Promise<Courier | null> {
  const [row] = await sql<Courier[]>`select courier_id, name from couriers where courier_id = ${courierId}`;
  return row ?? null;
}

/** The courier a user is (the token's user id); null for a user who is none. */
export async function courierOfUser(sql: AnySql, userId: number): Promise<Courier | null> {
  const [row] = await sql<Courier[]>`select courier_id, name from couriers where user_id = ${userId}`;
  return row ?? null;
}
