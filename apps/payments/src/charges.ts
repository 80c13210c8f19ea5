// Charging once per Idempotency-Key. The key's row is inserted `processing` before the provider is asked and
// holds a lease while a request asks; the provider's answer is stored on it and replayed for the key forever.
//
// What happens when something breaks half-way:
// - The provider fails transiently (unavailable, timed out): it charged nothing, so a first attempt's row is
//   deleted and the same key starts afresh; the caller gets 502 UPSTREAM_ERROR and may retry.
// - The process dies while asking: the row stays `processing`. Once its lease has run out, the next request
//   with the key takes it over and asks the provider again about the same payment id. The provider is
//   idempotent on that id (its ledger, provider_charges, is keyed by it), so this returns the first charge's
//   result if there was one and never charges twice.
// - The caller gives up (its timeout, a closed connection): nothing here listens to the request's signal,
//   so the charge runs to its end and is stored; the caller finds it by asking again or by order id.
import { createHash, randomUUID } from "node:crypto";
import type { Sql } from "postgres";
import { AppError } from "@storefront/shared/errors";
import {
  claimExpiredLease,
  dropFirstAttempt,
  findByKey,
  findLiveForOrder,
  getPayment,
  insertProcessing,
  releaseLease,
  settleCharge,
  type PaymentRow,
} from "./db/payments.ts";
import { ProviderTransientError, type PaymentProvider } from "./provider.ts";

export const DEFAULT_LEASE_MS = 30_000;
/** Below the default lease, so a live request gives up on the provider before anyone may take its charge over. */
export const DEFAULT_PROVIDER_TIMEOUT_MS = 10_000;

export type ChargeOutcomeLabel = "succeeded" | "declined" | "provider_error";

export type ChargeDeps = {
  sql: Sql;
  provider: PaymentProvider;
  leaseMs: number;
  providerTimeoutMs: number;
  /** Called once per answer the provider gave (or failed to give), for payments_charges_total. */
  countOutcome: (outcome: ChargeOutcomeLabel) => void;
};

export type ChargeRequest = { key: string; orderId: number; amountCents: number; cardToken: string };

/** A decided payment (succeeded, declined, or refunded since); `replayed`: decided by an earlier request with the key. */
export type ChargeDecision = { payment: PaymentRow; replayed: boolean };

/** sha256 of the body with its keys in a fixed order: what "the same request" means for a key. */
export const requestHash = ({ orderId, amountCents, cardToken }: ChargeRequest) =>
  createHash("sha256").update(JSON.stringify({ amount_cents: amountCents, card_token: cardToken, order_id: orderId })).digest("hex");

// Each round ends in an answer unless the row in the way disappeared meanwhile (a failed first attempt dropped).
const MAX_ROUNDS = 5;

const inProgress = (payment: Pick<PaymentRow, "id"> | null) =>
  new AppError(409, "PAYMENT_IN_PROGRESS", "a charge with this Idempotency-Key is in progress; ask again shortly", {
    headers: { "retry-after": "1" },
    details: payment ? { payment_id: payment.id } : undefined,
  });

/** Duplicates get no waiting: a request that finds the key being charged answers 409 at once (Retry-After: 1). */
export async function chargeOnce(deps: ChargeDeps, request: ChargeRequest): Promise<ChargeDecision> {
  const { sql, leaseMs } = deps;
  const hash = requestHash(request);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const inserted = await insertProcessing(
      sql,
      {
        id: randomUUID(),
        idempotency_key: request.key,
        request_hash: hash,
        order_id: request.orderId,
        amount_cents: request.amountCents,
        card_last: request.cardToken,
      },
      leaseMs,
    );
    if (inserted) return askProvider(deps, inserted);

    const existing = await findByKey(sql, request.key);
    if (!existing) {
      // Not the key: the order already has a payment being charged or charged, under another key.
      const live = await findLiveForOrder(sql, request.orderId);
      if (live) {
        throw new AppError(409, "CONFLICT", `order ${request.orderId} already has payment ${live.id} (${live.status}) under another Idempotency-Key`, {
          details: { payment_id: live.id, status: live.status },
        });
      }
      continue;
    }
    if (existing.request_hash !== hash) {
      throw new AppError(422, "IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with a different request body");
    }
    if (existing.status !== "processing") return { payment: existing, replayed: true };

    const claimed = await claimExpiredLease(sql, existing.id, leaseMs);
    if (claimed) return askProvider(deps, claimed);
    // Not claimed: still leased (the usual case), or decided or dropped since it was read.
    const now = await findByKey(sql, request.key);
    if (now?.id === existing.id && now.status === "processing") throw inProgress(now);
  }
  throw inProgress(null);
}

/** Asks the provider about the row this request holds the lease on, then stores the answer. */
async function askProvider(deps: ChargeDeps, held: PaymentRow): Promise<ChargeDecision> {
  const { sql, provider, providerTimeoutMs, countOutcome } = deps;
  // The provider's own timeout, never the request's signal: a caller that gives up must not stop a charge.
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new Error(`no answer from the card provider within ${providerTimeoutMs} ms`)), providerTimeoutMs);
  let result;
  try {
    result = await provider.charge({ paymentId: held.id, amountCents: held.amount_cents, cardToken: held.card_last }, timeout.signal);
  } catch (err) {
    // Anything else (the database gone mid-way) leaves the row `processing`: its lease lets a later request ask again.
    if (!(err instanceof ProviderTransientError)) throw err;
    countOutcome("provider_error");
    // Nothing was charged. A first attempt's row goes, so the same key starts afresh. A takeover's row stays,
    // because the request it took over from may still be asking the provider; its lease ends now so the next
    // request with the key asks again at once.
    if (held.attempt === 1) await dropFirstAttempt(sql, held.id);
    else await releaseLease(sql, held.id, held.attempt);
    throw new AppError(502, "UPSTREAM_ERROR", `${err.message}; retry with the same Idempotency-Key`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
  countOutcome(result.status);
  // Null from settleCharge: another holder of this payment stored the provider's answer first (the same answer).
  const payment = (await settleCharge(sql, held.id, result)) ?? (await getPayment(sql, held.id));
  if (!payment) throw new Error(`payment ${held.id} vanished after the provider answered`);
  return { payment, replayed: false };
}
