// The consumer's memory (migration 004): which order events it has handled, and the order.paid and
// order.cancelled events that came before their order.created. Functions run in the caller's transaction.
import type { TransactionSql } from "postgres";

export type EarlyEvent =
  | { event_id: string; type: "order.paid"; payload: { order_id: number; user_id: number; payment_id: string; amount_cents: number } }
  | { event_id: string; type: "order.cancelled"; payload: { order_id: number; user_id: number; reason: string } };

export async function wasProcessed(tx: TransactionSql, eventId: string): Promise<boolean> {
  const [row] = await tx`select 1 from processed_events where event_id = ${eventId}`;
  return row !== undefined;
}

/** Written in the transaction that applied the event, so the event counts as handled exactly when its effect exists. */
export async function recordProcessed(tx: TransactionSql, event: { event_id: string; type: string }, outcome: string): Promise<void> {
  await tx`insert into processed_events (event_id, type, outcome) values (${event.event_id}, ${event.type}, ${outcome})`;
}

export async function saveEarlyEvent(tx: TransactionSql, event: EarlyEvent): Promise<void> {
  await tx`
    insert into early_events (event_id, order_id, type, payload)
    values (${event.event_id}, ${event.payload.order_id}, ${event.type}, ${tx.json(event.payload)})`;
}

/**
 * Removes and returns the order's early events in the order they happened for the order: a payment before a
 * cancellation (the saga pays, then compensates), whichever reached the queue first.
 */
export async function takeEarlyEvents(tx: TransactionSql, orderId: number): Promise<EarlyEvent[]> {
  const rows = await tx<(EarlyEvent & { received_at: Date })[]>`
    delete from early_events where order_id = ${orderId}
    returning event_id, type, payload, received_at`;
  const rank = (e: EarlyEvent) => (e.type === "order.paid" ? 0 : 1);
  return [...rows]
    .sort((a, b) => rank(a) - rank(b) || a.received_at.getTime() - b.received_at.getTime())
    .map(({ event_id, type, payload }) => ({ event_id, type, payload }) as EarlyEvent);
}
