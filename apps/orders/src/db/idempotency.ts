// Query functions for checkout's Idempotency-Keys (per user, kept KEY_RETENTION_HOURS); each takes `sql` first.
import type { Sql, TransactionSql } from "postgres";

type AnySql = Sql | TransactionSql;

/** An answer as sent: status and JSON body. */
export type StoredAnswer = { status: number; body: unknown };

export type KeyRow = {
  request_hash: string;
  order_id: number | null;
  response_status: number | null;
  response_body: unknown;
  /** Its first request's claim ran out (that request died, or is far slower than any should be). */
  claim_expired: boolean;
};

/** Claims the key for a first request; false when it exists (an expired one is deleted first and claimed). */
export async function claimKey(sql: AnySql, userId: number, key: string, hash: string, claimMs: number, retentionHours: number): Promise<boolean> {
  await sql`delete from idempotency_keys where user_id = ${userId} and key = ${key} and created_at < now() - ${`${retentionHours} hours`}::interval`;
  const rows = await sql`
    insert into idempotency_keys (user_id, key, request_hash, claimed_until)
    values (${userId}, ${key}, ${hash}, now() + ${`${claimMs} milliseconds`}::interval)
    on conflict (user_id, key) do nothing
    returning key`;
  return rows.length === 1;
}

export async function getKey(sql: AnySql, userId: number, key: string): Promise<KeyRow | null> {
  const [row] = await sql<KeyRow[]>`
    select request_hash, order_id, response_status, response_body, claimed_until < now() as claim_expired
    from idempotency_keys where user_id = ${userId} and key = ${key}`;
  return row ?? null;
}

/** Takes over a claim whose first request died before it created an order. */
export async function takeOverClaim(sql: AnySql, userId: number, key: string, claimMs: number): Promise<boolean> {
  const rows = await sql`
    update idempotency_keys set claimed_until = now() + ${`${claimMs} milliseconds`}::interval
    where user_id = ${userId} and key = ${key} and claimed_until < now() and order_id is null and response_status is null
    returning key`;
  return rows.length === 1;
}

/** Frees a key whose first request wrote nothing (empty cart, an upstream down): a retry starts afresh. */
export async function deleteClaim(sql: AnySql, userId: number, key: string) {
  await sql`delete from idempotency_keys where user_id = ${userId} and key = ${key} and order_id is null and response_status is null`;
}

/** In the transaction that creates the order. */
export async function linkOrder(tx: TransactionSql, userId: number, key: string, orderId: number) {
  await tx`update idempotency_keys set order_id = ${orderId} where user_id = ${userId} and key = ${key}`;
}

/** Stores the first answer only; later ones (a recovering duplicate's) leave it as it is. */
export async function storeAnswer(sql: AnySql, userId: number, key: string, answer: StoredAnswer) {
  await sql`
    update idempotency_keys set response_status = ${answer.status}, response_body = ${sql.json(answer.body as never)}
    where user_id = ${userId} and key = ${key} and response_status is null`;
}

/** Deletes keys past their retention, a bounded number per call. */
export const purgeKeys = (sql: AnySql, retentionHours: number, limit = 1000) =>
  sql`
    delete from idempotency_keys where (user_id, key) in (
      select user_id, key from idempotency_keys where created_at < now() - ${`${retentionHours} hours`}::interval limit ${limit})`;
