// Writes a notification event into the service's outbox table, inside the transaction that makes the change,
// so the event exists exactly when the change does. The relay (relay.ts) publishes it later.
import type { TransactionSql } from "postgres";
import type { OutboxEvent } from "../notifications/events.ts";

/** Inserts the event in the caller's `sql.begin` transaction; returns its id (the job id it will be published under). */
export async function writeEvent(tx: TransactionSql, event: OutboxEvent): Promise<string> {
  const [row] = await tx<{ id: string }[]>`
    insert into outbox (type, payload) values (${event.type}, ${tx.json(event.payload)})
    returning id`;
  return row!.id;
}

/** What a request path holds of its service's relay: a nudge after commit, so delivery need not wait for the poll. */
export type OutboxWaker = { wake(): void };
