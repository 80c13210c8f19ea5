// Reads of deliveries as the API shows them: with the courier's name and the history of transitions.
// Keyset pages in order_id order; each function takes `sql` first.
import type { Sql, TransactionSql } from "postgres";
import type { ShippingAddress } from "@storefront/shared/notifications/events";
import type { DeliveryStatus } from "../state-machine.ts";

type AnySql = Sql | TransactionSql;

export type HistoryEntry = { from: DeliveryStatus | null; to: DeliveryStatus; at: Date; by: string };

export type Delivery = {
  order_id: number;
  user_id: number;
  status: DeliveryStatus;
  shipping_address: ShippingAddress;
  delivery_date: string | null;
  courier: { courier_id: number; name: string } | null;
  version: number;
  created_at: Date;
  updated_at: Date;
  history: HistoryEntry[];
};

type Row = Omit<Delivery, "courier" | "history"> & { courier_id: number | null; courier_name: string | null };

// delivery_date as text: "YYYY-MM-DD", no time zone shifts.
const COLUMNS = (sql: AnySql) => sql`
  d.order_id, d.user_id, d.status, d.shipping_address, to_char(d.delivery_date, 'YYYY-MM-DD') as delivery_date,
  d.courier_id, c.name as courier_name, d.version, d.created_at, d.updated_at`;

/** One query for the history of every delivery on the page. */
async function withHistory(sql: AnySql, rows: readonly Row[]): Promise<Delivery[]> {
  if (rows.length === 0) return [];
  const history = await sql<(HistoryEntry & { order_id: number })[]>`
    select order_id, from_status as "from", to_status as "to", at, by from delivery_history
    where order_id = any(${sql.array(rows.map((r) => r.order_id))}::int[])
    order by order_id, id`;
  const byOrder = new Map<number, HistoryEntry[]>();
  for (const { order_id, ...entry } of history) {
    const list = byOrder.get(order_id) ?? [];
    list.push(entry);
    byOrder.set(order_id, list);
  }
  return rows.map(({ courier_id, courier_name, ...row }) => ({
    order_id: row.order_id,
    user_id: row.user_id,
    status: row.status,
    shipping_address: row.shipping_address,
    delivery_date: row.delivery_date,
    courier: courier_id === null ? null : { courier_id, name: courier_name! },
    version: row.version,
    created_at: row.created_at,
    updated_at: row.updated_at,
    history: byOrder.get(row.order_id) ?? [],
  }));
}

/** The order's delivery; with `courierId`, only if it is assigned to that courier (another's reads as missing). */
export async function getDelivery(sql: AnySql, orderId: number, options: { courierId?: number } = {}): Promise<Delivery | null> {
  const mine = options.courierId === undefined ? sql`` : sql`and d.courier_id = ${options.courierId}`;
  const rows = await sql<Row[]>`
    select ${COLUMNS(sql)} from deliveries d left join couriers c on c.courier_id = d.courier_id
    where d.order_id = ${orderId} ${mine}`;
  const [delivery] = await withHistory(sql, rows);
  return delivery ?? null;
}

export type PageQuery = { status?: DeliveryStatus; after?: number; limit: number; courierId?: number };

/** Up to `limit` deliveries with an order_id above `after`, ascending; optionally one status, one courier's. */
export async function listDeliveries(sql: AnySql, { status, after = 0, limit, courierId }: PageQuery): Promise<Delivery[]> {
  const rows = await sql<Row[]>`
    select ${COLUMNS(sql)} from deliveries d left join couriers c on c.courier_id = d.courier_id
    where d.order_id > ${after}
      ${status === undefined ? sql`` : sql`and d.status = ${status}`}
      ${courierId === undefined ? sql`` : sql`and d.courier_id = ${courierId}`}
    order by d.order_id
    limit ${limit}`;
  return withHistory(sql, rows);
}
