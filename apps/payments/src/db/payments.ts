// Query functions for payments (one row per Idempotency-Key); each takes `sql` first. The lease
// (processing_until, attempt) decides which request may ask the provider about a `processing` row.
import type { Sql } from "postgres";
import type { ChargeResult } from "../provider.ts";

export type PaymentStatus = "processing" | "succeeded" | "declined" | "refunded";

export type PaymentRow = {
  id: string;
  idempotency_key: string;
  request_hash: string;
  order_id: number;
  amount_cents: number;
  card_last: string;
  status: PaymentStatus;
  decline_reason: string | null;
  provider_ref: string | null;
  processing_until: Date | null;
  attempt: number;
  refunded_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

export type NewPayment = Pick<PaymentRow, "id" | "idempotency_key" | "request_hash" | "order_id" | "amount_cents" | "card_last">;

/**
 * Inserts the key's row as `processing` with a lease of `leaseMs`, or nothing when the key is taken or the order
 * already has a payment being charged or charged (the partial unique index): null then.
 */
export async function insertProcessing(sql: Sql, payment: NewPayment, leaseMs: number): Promise<PaymentRow | null> {
  const [row] = await sql<PaymentRow[]>`
    insert into payments (id, idempotency_key, request_hash, order_id, amount_cents, card_last, status, processing_until)
    values (${payment.id}, ${payment.idempotency_key}, ${payment.request_hash}, ${payment.order_id}, ${payment.amount_cents},
            ${payment.card_last}, 'processing', now() + ${leaseMs}::integer * interval '1 millisecond')
    on conflict do nothing
    returning *`;
  return row ?? null;
}

export async function findByKey(sql: Sql, key: string): Promise<PaymentRow | null> {
  const [row] = await sql<PaymentRow[]>`select * from payments where idempotency_key = ${key}`;
  return row ?? null;
}

export async function getPayment(sql: Sql, id: string): Promise<PaymentRow | null> {
  const [row] = await sql<PaymentRow[]>`select * from payments where id = ${id}`;
  return row ?? null;
}

/** The order's payment that is being charged or was charged, if any (at most one: the partial unique index). */
export async function findLiveForOrder(sql: Sql, orderId: number): Promise<PaymentRow | null> {
  const [row] = await sql<PaymentRow[]>`
    select * from payments where order_id = ${orderId} and status in ('processing', 'succeeded')`;
  return row ?? null;
}

export const listForOrder = (sql: Sql, orderId: number) =>
  sql<PaymentRow[]>`select * from payments where order_id = ${orderId} order by created_at, id`;

/** Takes over a `processing` row whose lease ran out: a new lease and the next attempt number; null if not taken. */
export async function claimExpiredLease(sql: Sql, id: string, leaseMs: number): Promise<PaymentRow | null> {
  const [row] = await sql<PaymentRow[]>`
    update payments
    set processing_until = now() + ${leaseMs}::integer * interval '1 millisecond', attempt = attempt + 1, updated_at = now()
    where id = ${id} and status = 'processing' and processing_until <= now()
    returning *`;
  return row ?? null;
}

/**
 * Stores the provider's answer on a `processing` row, whoever holds the lease: the provider answers the same for
 * one payment every time, so any holder's answer is the answer. Null when the row was already decided.
 */
export async function settleCharge(sql: Sql, id: string, outcome: ChargeResult): Promise<PaymentRow | null> {
  const declineReason = outcome.status === "declined" ? outcome.declineReason : null;
  const [row] = await sql<PaymentRow[]>`
    update payments
    set status = ${outcome.status}, decline_reason = ${declineReason}, provider_ref = ${outcome.providerRef},
        processing_until = null, updated_at = now()
    where id = ${id} and status = 'processing'
    returning *`;
  return row ?? null;
}

/**
 * Deletes a `processing` row whose first attempt charged nothing, so the key can be used again. Only while that
 * attempt still holds it: once another request took it over, the row is that request's business.
 */
export async function dropFirstAttempt(sql: Sql, id: string): Promise<boolean> {
  const rows = await sql`delete from payments where id = ${id} and status = 'processing' and attempt = 1`;
  return rows.count > 0;
}

/** Ends a holder's lease at once (the next request with the key takes over) if `attempt` still holds it. */
export async function releaseLease(sql: Sql, id: string, attempt: number): Promise<void> {
  await sql`
    update payments set processing_until = now(), updated_at = now()
    where id = ${id} and status = 'processing' and attempt = ${attempt}`;
}

/** succeeded -> refunded, with the provider's refund time; null when the row was not `succeeded`. */
export async function markRefunded(sql: Sql, id: string, refundedAt: Date): Promise<PaymentRow | null> {
  const [row] = await sql<PaymentRow[]>`
    update payments set status = 'refunded', refunded_at = ${refundedAt}, updated_at = now()
    where id = ${id} and status = 'succeeded'
    returning *`;
  return row ?? null;
}
