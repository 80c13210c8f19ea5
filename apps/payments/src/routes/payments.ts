// Charges and the payments they leave: POST /payments (one charge per Idempotency-Key), GET /payments?order_id=
// and GET /payments/:id. Only services (the orders service) and admins may call them; customers never do.
import { Hono } from "hono";
import { z } from "zod";
import { requireRole } from "@storefront/shared/auth/authenticate";
import { underDeadline } from "@storefront/shared/deadline-propagation";
import { AppError } from "@storefront/shared/errors";
import { positiveInt, positiveIntString, validate } from "@storefront/shared/validate";
import { chargeOnce, type ChargeDecision, type ChargeDeps } from "../charges.ts";
import { getPayment, listForOrder, type PaymentRow } from "../db/payments.ts";

export const MAX_AMOUNT_CENTS = 100_000_000;

/** 1 to 255 visible ASCII characters (no spaces): the orders service sends `order-<id>-charge`. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

const chargeHeaders = z.object({
  "idempotency-key": z
    .string({ error: "the Idempotency-Key header is required" })
    .regex(IDEMPOTENCY_KEY, "Idempotency-Key must be 1 to 255 visible ASCII characters"),
});

const chargeBody = z.strictObject({
  order_id: positiveInt,
  amount_cents: z.number().int().positive().max(MAX_AMOUNT_CENTS),
  // A test card's name (tok_visa). Control characters are refused: Postgres text cannot hold a NUL.
  card_token: z.string().min(1).max(64).regex(/^[^\u0000-\u001f\u007f]*$/, "must not contain control characters"),
});

const byOrderQuery = z.strictObject({ order_id: positiveIntString });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A payment id from the path; anything that is not a uuid names no payment (404, not 400). */
export const paymentIdOf = (raw: string) => {
  if (!UUID.test(raw)) throw new AppError(404, "NOT_FOUND", "no such payment");
  return raw.toLowerCase();
};

export const serviceOrAdmin = requireRole("service", "admin");

/** What GET answers for a payment, in every state (a `processing` one too: orders resolves timeouts with it). */
export const paymentView = (p: PaymentRow) => ({
  payment_id: p.id,
  order_id: p.order_id,
  amount_cents: p.amount_cents,
  status: p.status,
  decline_reason: p.decline_reason,
  created_at: p.created_at,
  updated_at: p.updated_at,
});

/**
 * The answer to a charge, the same every time the key is replayed: 201 when it succeeded (also after a later
 * refund: this is the charge's answer, GET gives the payment's current state), 402 PAYMENT_DECLINED when declined.
 */
function chargeAnswer({ payment, replayed }: ChargeDecision) {
  const headers: Record<string, string> = replayed ? { "idempotent-replayed": "true" } : {};
  if (payment.status === "declined") {
    throw new AppError(402, "PAYMENT_DECLINED", `the card was declined (${payment.decline_reason})`, {
      headers,
      details: { payment_id: payment.id, decline_reason: payment.decline_reason },
    });
  }
  const body = { payment_id: payment.id, order_id: payment.order_id, amount_cents: payment.amount_cents, status: "succeeded" as const };
  return { body, headers };
}

export const paymentsRoutes = (deps: ChargeDeps) => {
  const { sql } = deps;
  return (
    new Hono()
      // The role first: a caller who may not charge learns nothing from the validation of what they sent.
      .post("/", serviceOrAdmin, validate("header", chargeHeaders), validate("json", chargeBody), async (c) => {
        const key = c.req.valid("header")["idempotency-key"];
        const { order_id, amount_cents, card_token } = c.req.valid("json");
        // Not under the request's deadline or signal: see charges.ts.
        const decision = await chargeOnce(deps, { key, orderId: order_id, amountCents: amount_cents, cardToken: card_token });
        const { body, headers } = chargeAnswer(decision);
        return c.json(body, 201, headers);
      })
      .get("/", serviceOrAdmin, validate("query", byOrderQuery), async (c) => {
        const { order_id } = c.req.valid("query");
        return c.json((await underDeadline(c, listForOrder(sql, order_id))).map(paymentView));
      })
      .get("/:id", serviceOrAdmin, async (c) => {
        const id = paymentIdOf(c.req.param("id"));
        const payment = await getPayment(sql, id);
        if (!payment) throw new AppError(404, "NOT_FOUND", `no payment ${id}`);
        return c.json(paymentView(payment));
      })
  );
};
