// Query functions for the simulated provider's ledger (provider_charges); each takes `sql` first.
// Only src/provider.ts uses them: the service itself learns about charges through the provider's answers.
import type { Sql } from "postgres";

export type ProviderChargeRow = {
  payment_id: string;
  amount_cents: number;
  card_token: string;
  outcome: "succeeded" | "declined";
  decline_reason: string | null;
  provider_ref: string;
  charged_at: Date;
  refunded_at: Date | null;
};

export async function findProviderCharge(sql: Sql, paymentId: string): Promise<ProviderChargeRow | null> {
  const [row] = await sql<ProviderChargeRow[]>`select * from provider_charges where payment_id = ${paymentId}`;
  return row ?? null;
}

/**
 * Records a charge unless the payment already has one, and returns the row that stands: ours, or the one a
 * concurrent call for the same payment wrote first.
 */
export async function recordProviderCharge(
  sql: Sql,
  charge: Pick<ProviderChargeRow, "payment_id" | "amount_cents" | "card_token" | "outcome" | "decline_reason" | "provider_ref">,
): Promise<ProviderChargeRow> {
  const [inserted] = await sql<ProviderChargeRow[]>`
    insert into provider_charges ${sql(charge, "payment_id", "amount_cents", "card_token", "outcome", "decline_reason", "provider_ref")}
    on conflict (payment_id) do nothing
    returning *`;
  if (inserted) return inserted;
  const existing = await findProviderCharge(sql, charge.payment_id);
  if (!existing) throw new Error(`provider charge ${charge.payment_id} conflicted but cannot be read`);
  return existing;
}

/** Marks a succeeded charge refunded, once: returns the refund time (the first one's on later calls), null when there is nothing to refund. */
export async function refundProviderCharge(sql: Sql, paymentId: string): Promise<Date | null> {
  const [updated] = await sql<{ refunded_at: Date }[]>`
    update provider_charges set refunded_at = now()
    where payment_id = ${paymentId} and outcome = 'succeeded' and refunded_at is null
    returning refunded_at`;
  if (updated) return updated.refunded_at;
  return (await findProviderCharge(sql, paymentId))?.refunded_at ?? null;
}
