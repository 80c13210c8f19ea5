// Applies one order event to the deliveries, once: order.created creates the delivery (and then applies the
// order's events that came before it), order.paid activates it, order.cancelled cancels it. Everything an event
// does, and the record that it was handled, is one transaction; the caller wakes the relay when `events` > 0.
import type { Sql, TransactionSql } from "postgres";
import { createDelivery, moveDelivery } from "../db/deliveries.ts";
import { recordProcessed, saveEarlyEvent, takeEarlyEvents, wasProcessed, type EarlyEvent } from "../db/event-log.ts";
import type { Move } from "../state-machine.ts";
import type { OrderEvent } from "./job-data.ts";

/**
 * `outcome` says what happened, for the job's return value and the logs: "created", "applied", "duplicate",
 * "deferred: ..." (kept until order.created), "ignored: ..." (a move the delivery's state refuses).
 */
export type Applied = { outcome: string; events: number };

/**
 * Any number for pg_advisory_xact_lock's first key, unlike the migrator's: with the order id as the second, it
 * makes one order's events wait for each other. Without it order.paid could find no delivery while
 * order.created, not yet committed, finds no early event, and the payment would be lost.
 */
const ORDER_EVENTS_LOCK = 72_616_008;

export function applyOrderEvent(sql: Sql, event: OrderEvent): Promise<Applied> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${ORDER_EVENTS_LOCK}::int, ${event.payload.order_id}::int)`;
    if (await wasProcessed(tx, event.event_id)) return { outcome: "duplicate", events: 0 };
    const applied = await apply(tx, event);
    await recordProcessed(tx, event, applied.outcome);
    return applied;
  });
}

async function apply(tx: TransactionSql, event: OrderEvent): Promise<Applied> {
  switch (event.type) {
    case "order.created":
      return create(tx, event);
    case "order.paid":
    case "order.cancelled":
      return moveOrKeep(tx, event);
  }
}

const moveFor = (event: EarlyEvent): Move => (event.type === "order.paid" ? { action: "activate" } : { action: "cancel", reason: event.payload.reason });

/** Moves the delivery; without one yet, keeps the event for order.created. */
async function moveOrKeep(tx: TransactionSql, event: EarlyEvent): Promise<Applied> {
  const result = await moveDelivery(tx, event.payload.order_id, moveFor(event), `event ${event.type}`);
  switch (result.outcome) {
    case "applied":
      return { outcome: "applied", events: result.events };
    case "refused":
      // Paid twice, paid after the cancel, cancelled once done: the delivery stays as it is, the job completes.
      return { outcome: `ignored: ${result.reason}`, events: 0 };
    case "not_found":
      await saveEarlyEvent(tx, event);
      return { outcome: "deferred: no delivery yet", events: 0 };
  }
}

async function create(tx: TransactionSql, event: Extract<OrderEvent, { type: "order.created" }>): Promise<Applied> {
  const created = await createDelivery(tx, event.payload, "event order.created");
  if (!created) return { outcome: "ignored: the order has a delivery already", events: 0 };
  let events = 0;
  const notes: string[] = [];
  for (const early of await takeEarlyEvents(tx, event.payload.order_id)) {
    const result = await moveDelivery(tx, early.payload.order_id, moveFor(early), `event ${early.type} (arrived before order.created)`);
    if (result.outcome === "applied") events += result.events;
    notes.push(`${early.type} ${result.outcome === "applied" ? "applied" : `ignored (${result.outcome === "refused" ? result.reason : "no delivery"})`}`);
  }
  return { outcome: notes.length ? `created, then ${notes.join(", ")}` : "created", events };
}
