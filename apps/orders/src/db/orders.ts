// Query functions for orders, their items and the saga's history; each takes `sql` first.
import type { Sql, TransactionSql } from "postgres";
import type { OrderLine, ShippingAddress } from "@storefront/shared/notifications/events";

export type OrderStatus = "pending" | "confirmed" | "cancelling" | "cancelled" | "shipped" | "delivered";
export type SagaStep = "reserve" | "charge" | "commit" | "clear_cart" | "confirm" | "refund" | "release" | "cancel" | "done";

export type OrderRow = {
  order_id: number;
  user_id: number;
  status: OrderStatus;
  step: SagaStep;
  total_cents: number;
  shipping_address: ShippingAddress;
  delivery_date: string | null;
  card_token: string;
  payment_id: string | null;
  charge_attempted: boolean;
  reservation_expires_at: Date | null;
  failure_code: string | null;
  failure_details: Record<string, unknown> | null;
  cancel_reason: string | null;
  cancel_requested: boolean;
  attempts: number;
  /** What the delivery service last told us (db/delivery.ts); null before its first event. */
  delivery_status: DeliveryStatus | null;
  delivery_courier: string | null;
  delivery_updated_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

/** A delivery's status in the delivery service's own words, as far as its events tell us. */
export type DeliveryStatus = "activated" | "done" | "canceled";

export type HistoryEntry = { step: string; outcome: string; detail: string | null; at: Date };

type AnySql = Sql | TransactionSql;

// total_cents is a bigint in the table (a large order may pass an int); as float8 it reads as a JS number,
// exact far beyond any order. delivery_date as text: "YYYY-MM-DD", no time zone shifts.
export const ORDER_COLUMNS = (sql: AnySql) => sql`
  order_id, user_id, status, step, total_cents::float8 as total_cents, shipping_address,
  to_char(delivery_date, 'YYYY-MM-DD') as delivery_date, card_token, payment_id, charge_attempted,
  reservation_expires_at, failure_code, failure_details, cancel_reason, cancel_requested, attempts,
  delivery_status, delivery_courier, delivery_updated_at, created_at, updated_at`;

export async function insertOrder(
  tx: TransactionSql,
  order: { user_id: number; total_cents: number; shipping_address: ShippingAddress; delivery_date: string | null; card_token: string; items: OrderLine[] },
): Promise<OrderRow> {
  const [row] = await tx<OrderRow[]>`
    insert into orders (user_id, total_cents, shipping_address, delivery_date, card_token)
    values (${order.user_id}, ${order.total_cents}, ${tx.json(order.shipping_address)}, ${order.delivery_date}, ${order.card_token})
    returning ${ORDER_COLUMNS(tx)}`;
  await tx`insert into order_items ${tx(order.items.map((item) => ({ order_id: row!.order_id, ...item })))}`;
  return row!;
}

export async function getOrder(sql: AnySql, orderId: number): Promise<OrderRow | null> {
  const [row] = await sql<OrderRow[]>`select ${ORDER_COLUMNS(sql)} from orders where order_id = ${orderId}`;
  return row ?? null;
}

/** The order if it is `userId`'s; another user's order reads as missing. */
export async function getUsersOrder(sql: AnySql, userId: number, orderId: number): Promise<OrderRow | null> {
  const [row] = await sql<OrderRow[]>`select ${ORDER_COLUMNS(sql)} from orders where order_id = ${orderId} and user_id = ${userId}`;
  return row ?? null;
}

export const listItems = (sql: AnySql, orderId: number) =>
  sql<OrderLine[]>`select product_id, quantity, price_cents from order_items where order_id = ${orderId} order by product_id`;

export const listHistory = (sql: AnySql, orderId: number) =>
  sql<HistoryEntry[]>`select step, outcome, detail, at from saga_log where order_id = ${orderId} order by id`;

export type OrderSummary = { order_id: number; status: OrderStatus; total_cents: number; item_count: number; created_at: Date };

/** Keyset page of a user's orders, newest first: those with an id below `before` (all when null). */
export const listUsersOrders = (sql: AnySql, userId: number, before: number | null, limit: number) =>
  sql<OrderSummary[]>`
    select o.order_id, o.status, o.total_cents::float8 as total_cents, o.created_at,
           (select coalesce(sum(quantity), 0)::int from order_items i where i.order_id = o.order_id) as item_count
    from orders o
    where o.user_id = ${userId} ${before === null ? sql`` : sql`and o.order_id < ${before}`}
    order by o.order_id desc
    limit ${limit}`;

export async function logStep(sql: AnySql, orderId: number, step: string, outcome: HistoryEntry["outcome"], detail: string | null = null) {
  await sql`insert into saga_log (order_id, step, outcome, detail) values (${orderId}, ${step}, ${outcome}, ${detail})`;
}
