// The simulated card provider the payments service charges through. It keeps its own ledger
// (provider_charges) and is idempotent on the payment id: asked again for a payment it already charged or
// declined, it answers the first result and never charges twice. That is what lets a request take over a
// charge whose process died mid-way (the row stayed `processing`) and simply ask again.
//
// Test cards (the card token decides what happens):
//   tok_visa     succeeds
//   tok_decline  declined, reason "card_declined"
//   tok_slow     succeeds after 3 s
//   tok_flaky    half the time a transient failure (the provider's 5xx): nothing charged; otherwise succeeds
//   anything else declined, reason "unknown_test_card"
import { randomUUID } from "node:crypto";
import type { Sql } from "postgres";
import { findProviderCharge, recordProviderCharge, refundProviderCharge, type ProviderChargeRow } from "./db/provider-charges.ts";

export type ChargeInput = { paymentId: string; amountCents: number; cardToken: string };

export type ChargeResult =
  | { status: "succeeded"; providerRef: string }
  | { status: "declined"; declineReason: string; providerRef: string };

/**
 * The provider failed in a way that charged nothing (it was unavailable, or the caller's timeout fired before it
 * recorded anything), so asking again for the same payment is safe.
 */
export class ProviderTransientError extends Error {
  constructor(
    message: string,
    readonly reason: "unavailable" | "timeout",
  ) {
    super(message);
    this.name = "ProviderTransientError";
  }
}

export type PaymentProvider = {
  /** Rejects with ProviderTransientError when nothing was charged; `signal` is the caller's timeout, not a request's. */
  charge(input: ChargeInput, signal: AbortSignal): Promise<ChargeResult>;
  /** Refunds a succeeded charge once; later calls return the first refund's time. */
  refund(paymentId: string): Promise<{ refundedAt: Date }>;
};

export const SLOW_CARD_MS = 3000;

/** The test cards that end in a charge; every other token but tok_decline is an unknown card. */
const CHARGEABLE = new Set(["tok_visa", "tok_slow", "tok_flaky"]);

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const abortableSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });

const resultOf = (row: ProviderChargeRow): ChargeResult =>
  row.outcome === "succeeded"
    ? { status: "succeeded", providerRef: row.provider_ref }
    : { status: "declined", declineReason: row.decline_reason ?? "card_declined", providerRef: row.provider_ref };

const timedOut = () => new ProviderTransientError("the card provider did not answer in time; nothing was charged", "timeout");

/** `random` decides tok_flaky's failures and `sleep` tok_slow's wait: tests inject both. */
export function createSimulatedProvider(options: { sql: Sql; random?: () => number; sleep?: Sleep; slowMs?: number }): PaymentProvider {
  const { sql, random = Math.random, sleep = abortableSleep, slowMs = SLOW_CARD_MS } = options;
  return {
    async charge({ paymentId, amountCents, cardToken }, signal) {
      // Idempotency first: a payment asked about before gets its first answer, whatever the card would do now.
      const known = await findProviderCharge(sql, paymentId);
      if (known) return resultOf(known);
      if (cardToken === "tok_slow") {
        await sleep(slowMs, signal).catch((err) => {
          throw signal.aborted ? timedOut() : err;
        });
      }
      if (cardToken === "tok_flaky" && random() < 0.5) {
        throw new ProviderTransientError("the card provider answered 503 (tok_flaky); nothing was charged", "unavailable");
      }
      // The last point where the caller's timeout can stop the charge. Past it the charge is recorded and its
      // result returned however long that takes, so a timeout error always means nothing was charged.
      if (signal.aborted) throw timedOut();
      const declineReason = cardToken === "tok_decline" ? "card_declined" : CHARGEABLE.has(cardToken) ? null : "unknown_test_card";
      const row = await recordProviderCharge(sql, {
        payment_id: paymentId,
        amount_cents: amountCents,
        card_token: cardToken,
        outcome: declineReason === null ? "succeeded" : "declined",
        decline_reason: declineReason,
        provider_ref: `ch_${randomUUID().replaceAll("-", "")}`,
      });
      return resultOf(row);
    },
    async refund(paymentId) {
      const refundedAt = await refundProviderCharge(sql, paymentId);
      if (!refundedAt) throw new Error(`the provider has no succeeded charge for payment ${paymentId} to refund`);
      return { refundedAt };
    },
  };
}
