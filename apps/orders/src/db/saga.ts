// Query functions for the saga's persisted state: leases, step transitions and the sweeper's question. Every
// transition is conditioned on the step it leaves and the lease holder, so a runner that lost its lease (it
// stalled past lease_until and another took over) changes nothing.
import type { Sql, TransactionSql } from "postgres";
import { ORDER_COLUMNS, type OrderRow, type SagaStep } from "./orders.ts";

type AnySql = Sql | TransactionSql;

const ms = (n: number) => `${Math.max(0, Math.round(n))} milliseconds`;

/** Takes (or renews) the saga's lease for `owner`; null when it is done or another runner holds it. */
export async function claimOrder(sql: AnySql, orderId: number, owner: string, leaseMs: number): Promise<OrderRow | null> {
  const [row] = await sql<OrderRow[]>`
    update orders set lease_owner = ${owner}, lease_until = now() + ${ms(leaseMs)}::interval
    where order_id = ${orderId} and step <> 'done'
      and (lease_until is null or lease_until < now() or lease_owner = ${owner})
    returning ${ORDER_COLUMNS(sql)}`;
  return row ?? null;
}

/** Lets go of the lease; the sweeper takes the saga up again at next_attempt_at. */
export async function releaseLease(sql: AnySql, orderId: number, owner: string) {
  await sql`update orders set lease_owner = null, lease_until = null where order_id = ${orderId} and lease_owner = ${owner}`;
}

export type Transition = {
  step: SagaStep;
  status?: OrderRow["status"];
  attempts?: number;
  nextAttemptInMs?: number;
  payment_id?: string;
  reservation_expires_at?: Date | null;
  failure?: { code: string; reason: string; details?: Record<string, unknown> };
  /** Only while the customer has not asked to cancel (confirming must not race a cancel). */
  unlessCancelRequested?: boolean;
};

/** Moves the saga from `from` to `to.step`, in the caller's transaction; null when the lease or the step moved on. */
export async function transition(tx: TransactionSql, orderId: number, owner: string, leaseMs: number, from: SagaStep, to: Transition): Promise<OrderRow | null> {
  const [row] = await tx<OrderRow[]>`
    update orders set
      step = ${to.step},
      status = coalesce(${to.status ?? null}, status),
      attempts = ${to.attempts ?? 0},
      next_attempt_at = now() + ${ms(to.nextAttemptInMs ?? 0)}::interval,
      payment_id = coalesce(${to.payment_id ?? null}::uuid, payment_id),
      reservation_expires_at = coalesce(${to.reservation_expires_at ?? null}::timestamptz, reservation_expires_at),
      -- Committed before the charge call leaves: from then on a compensation must ask payments.
      charge_attempted = charge_attempted or ${to.step === "charge"},
      -- A finished saga is nobody's: no lease left to release.
      lease_owner = case when ${to.step} = 'done' then null else lease_owner end,
      lease_until = case when ${to.step} = 'done' then null else now() + ${ms(leaseMs)}::interval end,
      failure_code = coalesce(${to.failure?.code ?? null}, failure_code),
      failure_details = coalesce(${to.failure?.details ? tx.json(to.failure.details as never) : null}::jsonb, failure_details),
      cancel_reason = coalesce(${to.failure?.reason ?? null}, cancel_reason),
      updated_at = now()
    where order_id = ${orderId} and step = ${from} and lease_owner = ${owner}
      ${to.unlessCancelRequested ? tx`and not cancel_requested` : tx``}
    returning ${ORDER_COLUMNS(tx)}`;
  return row ?? null;
}

/** Unfinished sagas that are due and held by nobody (or by a runner whose lease ran out), oldest due first. */
export const dueSagas = (sql: AnySql, limit: number) =>
  sql<{ order_id: number }[]>`
    select order_id from orders
    where step <> 'done' and next_attempt_at <= now() and (lease_until is null or lease_until < now())
    order by next_attempt_at
    limit ${limit}`;

/** The customer's cancel: a confirmed order turns to its compensations at once; a pending one at its next step. */
export async function requestCancel(sql: AnySql, userId: number, orderId: number): Promise<OrderRow | null> {
  const [row] = await sql<OrderRow[]>`
    update orders set
      cancel_requested = true,
      status = case when status = 'confirmed' then 'cancelling' else status end,
      step = case when status = 'confirmed' then 'refund' else step end,
      failure_code = case when status = 'confirmed' then 'CANCELLED' else failure_code end,
      cancel_reason = case when status = 'confirmed' then 'at the customer''s request' else cancel_reason end,
      next_attempt_at = now(), attempts = 0, updated_at = now()
    where order_id = ${orderId} and user_id = ${userId} and status in ('pending', 'confirmed')
    returning ${ORDER_COLUMNS(sql)}`;
  return row ?? null;
}
