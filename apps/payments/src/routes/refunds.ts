// POST /payments/:id/refund: succeeded -> refunded, idempotent. Asking again answers the same refund; the
// provider records it once (its refund is itself idempotent), so a retry after a crash between the provider's
// refund and our update simply finishes the job.
import { Hono, type Context } from "hono";
import type { Sql } from "postgres";
import { z } from "zod";
import { AppError } from "@storefront/shared/errors";
import { describeIssues } from "@storefront/shared/validate";
import { getPayment, markRefunded, type PaymentRow } from "../db/payments.ts";
import type { PaymentProvider } from "../provider.ts";
import { paymentIdOf, serviceOrAdmin } from "./payments.ts";

/** No body, or `{}`: a refund is always of the whole amount. */
const refundBody = z.strictObject({});

async function readRefundBody(c: Context): Promise<void> {
  const text = await c.req.text();
  if (text.trim() === "") return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AppError(400, "BAD_REQUEST", "Malformed JSON in request body");
  }
  const result = refundBody.safeParse(parsed);
  if (!result.success) throw new AppError(400, "BAD_REQUEST", `invalid json: a refund takes no body or {}: ${describeIssues(result.error)}`);
}

const refundView = (p: PaymentRow) => ({ payment_id: p.id, status: "refunded" as const, refunded_at: p.refunded_at });

export const refundRoutes = (sql: Sql, provider: PaymentProvider) =>
  new Hono().post("/:id/refund", serviceOrAdmin, async (c) => {
    const id = paymentIdOf(c.req.param("id"));
    await readRefundBody(c);
    const payment = await getPayment(sql, id);
    if (!payment) throw new AppError(404, "NOT_FOUND", `no payment ${id}`);
    switch (payment.status) {
      case "refunded":
        return c.json(refundView(payment));
      case "declined":
        throw new AppError(409, "NOT_REFUNDABLE", `payment ${id} was declined: there is nothing to refund`, { details: { payment_id: id, status: payment.status } });
      case "processing":
        throw new AppError(409, "PAYMENT_IN_PROGRESS", `payment ${id} is still being charged; ask again shortly`, {
          headers: { "retry-after": "1" },
          details: { payment_id: id },
        });
      case "succeeded": {
        const { refundedAt } = await provider.refund(id);
        // Null: a concurrent refund stored it first, with the same provider time.
        const refunded = (await markRefunded(sql, id, refundedAt)) ?? (await getPayment(sql, id));
        if (refunded?.status !== "refunded") throw new Error(`payment ${id} is ${refunded?.status ?? "gone"} after its refund`);
        return c.json(refundView(refunded));
      }
    }
  });
