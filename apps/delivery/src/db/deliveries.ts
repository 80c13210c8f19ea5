// Writes to deliveries: creating one (order.created) and applying a move of the state machine (state-machine.ts).
// Each move is one update conditioned on the status and version read just before, with its history row and its
// outbox event in the caller's transaction; the caller wakes the relay when `events` > 0.
import type { TransactionSql } from "postgres";
import type { ShippingAddress } from "@storefront/shared/notifications/events";
import { writeEvent } from "@storefront/shared/outbox/write-event";
import { courierAfter, eventFor, refusal, TRANSITIONS, type DeliveryStatus, type Move } from "../state-machine.ts";

/** What a move reads and writes: the row without its address and dates. */
export type DeliveryRow = { order_id: number; user_id: number; status: DeliveryStatus; courier_id: number | null; version: number };

export type MoveResult =
  | { outcome: "applied"; delivery: DeliveryRow; events: number }
  /** No such delivery; for a courier's move, none assigned to that courier (another's reads as missing). */
  | { outcome: "not_found" }
  | { outcome: "refused"; status: DeliveryStatus; reason: string };

/**
 * A move that lost a race is judged again on what the winner left; each retry means another transition was
 * committed, and a delivery has at most four, so running out means something is wrong.
 */
const MAX_ATTEMPTS = 8;

const STATE_COLUMNS = (tx: TransactionSql) => tx`order_id, user_id, status, courier_id, version`;

/** Inserts the delivery (status created) with its first history row; null when the order has one already. */
export async function createDelivery(
  tx: TransactionSql,
  order: { order_id: number; user_id: number; shipping_address: ShippingAddress; delivery_date: string | null },
  by: string,
): Promise<DeliveryRow | null> {
  const [row] = await tx<DeliveryRow[]>`
    insert into deliveries (order_id, user_id, shipping_address, delivery_date)
    values (${order.order_id}, ${order.user_id}, ${tx.json(order.shipping_address)}, ${order.delivery_date})
    on conflict (order_id) do nothing
    returning ${STATE_COLUMNS(tx)}`;
  if (!row) return null;
  await tx`insert into delivery_history (order_id, from_status, to_status, by) values (${row.order_id}, null, 'created', ${by})`;
  return row;
}

/** The delivery as a move sees it; a courier's move sees only the deliveries assigned to that courier. */
async function readState(tx: TransactionSql, orderId: number, move: Move): Promise<DeliveryRow | null> {
  const mine = move.action === "complete" ? tx`and courier_id = ${move.courier_id}` : tx``;
  const [row] = await tx<DeliveryRow[]>`select ${STATE_COLUMNS(tx)} from deliveries where order_id = ${orderId} ${mine}`;
  return row ?? null;
}

/** Applies `move` to the order's delivery, or says why not. `by` is recorded in the history ("admin user 6"). */
export async function moveDelivery(tx: TransactionSql, orderId: number, move: Move, by: string): Promise<MoveResult> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const state = await readState(tx, orderId, move);
    if (!state) return { outcome: "not_found" };
    const reason = refusal(move, state);
    if (reason) return { outcome: "refused", status: state.status, reason };
    const applied = await applyMove(tx, state, move, by);
    if (applied) return { outcome: "applied", ...applied };
    // Another transaction moved it between the read and the update: read again and judge the move on that.
  }
  throw new Error(`the delivery for order ${orderId} kept changing; gave up after ${MAX_ATTEMPTS} attempts`);
}

/**
 * The one conditional update: it applies only if the delivery still has the status and version `read` saw (and,
 * per the move's courier rule, no courier yet or the acting one). Null when it did not: someone else moved it
 * first. Exported so a test can hand it a stale read.
 */
export async function applyMove(
  tx: TransactionSql,
  read: DeliveryRow,
  move: Move,
  by: string,
): Promise<{ delivery: DeliveryRow; events: number } | null> {
  const { from, to, courier } = TRANSITIONS[move.action];
  // The courier rule in SQL too: the row must still have no courier, or still be the acting courier's.
  const mover = move.action === "complete" ? move.courier_id : null;
  const courierGuard = courier === "none" ? tx`and courier_id is null` : courier === "mover" ? tx`and courier_id = ${mover}` : tx``;
  const [row] = await tx<DeliveryRow[]>`
    update deliveries
    set status = ${to}, courier_id = ${courierAfter(move, read)}, version = version + 1, updated_at = now()
    where order_id = ${read.order_id} and status = any(${tx.array([...from])}::text[]) and version = ${read.version} ${courierGuard}
    returning ${STATE_COLUMNS(tx)}`;
  if (!row) return null;
  await tx`
    insert into delivery_history (order_id, from_status, to_status, courier_id, by)
    values (${row.order_id}, ${read.status}, ${row.status}, ${row.courier_id}, ${by})`;
  const event = eventFor(move, row);
  if (event) await writeEvent(tx, event);
  return { delivery: row, events: event ? 1 : 0 };
}
