// Query functions for the delivery side of an order: applying one delivery event (delivery.assigned, .done,
// .canceled) once, and moving the order's status after its delivery (confirmed -> shipped -> delivered).
// The status moves in one place, catchUpWithDelivery, which both the event and the saga's confirm step call:
// an assignment can arrive while the saga is still going forward (delivery activates on order.paid, the order
// is confirmed a few steps later), and is applied when the order is confirmed instead of being lost.
import type { Sql, TransactionSql } from "postgres";
import type { DeliveryAssigned, DeliveryCanceled, DeliveryDone } from "@storefront/shared/notifications/events";
import { logStep, type DeliveryStatus, type OrderStatus } from "./orders.ts";

type AnySql = Sql | TransactionSql;

export type DeliveryEvent = (DeliveryAssigned | DeliveryDone | DeliveryCanceled) & { event_id: string; occurred_at: string };

export type DeliveryEventOutcome =
  /** The event was applied; `order_status` is the order's status after it. */
  | { applied: true; order_status: OrderStatus; moved: boolean }
  /** Its event id was applied before: nothing changed. */
  | { applied: false; reason: "duplicate" };

/** The event names an order this service does not have, or another user's: it will not fit on a retry either. */
export class DeliveryEventMismatchError extends Error {}

const DELIVERY_STATUS: Record<DeliveryEvent["type"], DeliveryStatus> = {
  "delivery.assigned": "activated",
  "delivery.done": "done",
  "delivery.canceled": "canceled",
};

/**
 * Applies the event in one transaction with its processed_events row: records what the delivery service said
 * on the order, then moves the order's status if that now follows. A duplicate event id changes nothing.
 * The order row is locked first, so two events for one order (the queue runs jobs in parallel) apply one
 * after the other; as they may also arrive in either order, the recorded delivery status only moves forward
 * (null -> activated -> done or canceled), and a late assignment still fills in the courier's name.
 */
export async function applyDeliveryEvent(sql: Sql, event: DeliveryEvent): Promise<DeliveryEventOutcome> {
  const { order_id, user_id } = event.payload;
  return sql.begin(async (tx) => {
    const [fresh] = await tx`
      insert into processed_events (event_id, type) values (${event.event_id}, ${event.type})
      on conflict (event_id) do nothing
      returning event_id`;
    if (!fresh) return { applied: false, reason: "duplicate" } as const;

    const [order] = await tx<{ user_id: number }[]>`select user_id from orders where order_id = ${order_id} for update`;
    // Thrown, not returned: the transaction rolls back, so the event id is not marked as applied.
    if (!order) throw new DeliveryEventMismatchError(`no order ${order_id}`);
    if (order.user_id !== user_id) throw new DeliveryEventMismatchError(`order ${order_id} is not user ${user_id}'s`);

    const status = DELIVERY_STATUS[event.type];
    const courier = event.type === "delivery.assigned" ? event.payload.courier_name : null;
    await tx`
      update orders set
        delivery_courier = coalesce(${courier}, delivery_courier),
        delivery_updated_at = case when ${advances(tx, status)} then ${event.occurred_at}::timestamptz else delivery_updated_at end,
        delivery_status = case when ${advances(tx, status)} then ${status} else delivery_status end,
        updated_at = now()
      where order_id = ${order_id}`;

    const moved = await catchUpWithDelivery(tx, order_id);
    const [now] = await tx<{ status: OrderStatus }[]>`select status from orders where order_id = ${order_id}`;
    return { applied: true, order_status: now!.status, moved: moved !== null } as const;
  });
}

/** Whether `to` is further on than the recorded delivery status (in SQL, evaluated on the row being updated). */
const advances = (sql: AnySql, to: DeliveryStatus) =>
  to === "activated" ? sql`delivery_status is null` : sql`(delivery_status is null or delivery_status = 'activated')`;

/**
 * Moves a confirmed order to shipped (its delivery has a courier) or delivered (done), and a shipped one to
 * delivered, with the customer's history line; any other order (pending, cancelling, cancelled) keeps its
 * status. Returns the new status, or null when nothing moved. Runs in the caller's transaction.
 */
export async function catchUpWithDelivery(tx: TransactionSql, orderId: number): Promise<OrderStatus | null> {
  const [row] = await tx<{ status: OrderStatus; delivery_courier: string | null }[]>`
    update orders set
      status = case delivery_status when 'done' then 'delivered' else 'shipped' end,
      updated_at = now()
    where order_id = ${orderId}
      and ((delivery_status = 'activated' and status = 'confirmed') or (delivery_status = 'done' and status in ('confirmed', 'shipped')))
    returning status, delivery_courier`;
  if (!row) return null;
  if (row.status === "shipped") {
    await logStep(tx, orderId, "shipped", "succeeded", row.delivery_courier ? `courier ${row.delivery_courier} has it` : null);
  } else {
    await logStep(tx, orderId, "delivered", "succeeded");
  }
  return row.status;
}

/** The delivery as GET /users/:id/orders/:order_id shows it; null before the delivery service said anything. */
export const deliveryView = (order: { delivery_status: DeliveryStatus | null; delivery_courier: string | null; delivery_updated_at: Date | null }) =>
  order.delivery_status === null ? null : { status: order.delivery_status, courier_name: order.delivery_courier, updated_at: order.delivery_updated_at };
