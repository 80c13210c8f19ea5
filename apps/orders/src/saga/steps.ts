// The saga's steps: what each one calls and what its answer means. Forward: reserve -> charge -> commit ->
// clear_cart -> confirm. Compensations, in reverse: refund -> release -> cancel. Each call is idempotent on
// (order, step) at the service it reaches (a reservation per order id, one charge key per order, a cart
// cleared once per order), so running a step again after a crash repeats no effect. confirm and cancel are
// local: the runner does them in its own transaction.
import type { OrderLine } from "@storefront/shared/notifications/events";
import { CircuitOpenError } from "@storefront/shared/circuit-breaker";
import { DeadlineExceededError } from "@storefront/shared/deadline";
import { rootCause, UpstreamInvalidResponseError, UpstreamStatusError } from "@storefront/shared/upstream/errors";
import { ServiceTokenError, type OrdersClients } from "../clients.ts";
import type { OrderRow, SagaStep } from "../db/orders.ts";

export type StepOutcome =
  /** Done; `patch` is stored with the step's success (e.g. the payment id). */
  | { kind: "succeeded"; detail?: string; patch?: { payment_id?: string; reservation_expires_at?: Date | null } }
  /** A business failure: compensate, and tell the customer `reason`. */
  | { kind: "failed"; code: string; reason: string; details?: Record<string, unknown> }
  /** The outcome is unknown or the service unreachable: try the step again later. `error`: the raw cause, for the log. */
  | { kind: "retry"; detail: string; afterMs?: number; error?: string }
  /** Not needed (e.g. refund with no charge attempted) or given up on harmlessly; go on. */
  | { kind: "skipped"; detail: string };

export type StepContext = {
  order: OrderRow;
  items: OrderLine[];
  clients: OrdersClients;
  now: () => number;
  /** A forward step still failing after this long since the order was placed gives up (compensates). */
  giveUpMs: number;
  /** How long before its reservation runs out an order is still charged. */
  chargeMarginMs: number;
};

export const FORWARD: readonly SagaStep[] = ["reserve", "charge", "commit", "clear_cart", "confirm"];
export const COMPENSATION: readonly SagaStep[] = ["refund", "release", "cancel"];

/** Steps that call another service; confirm and cancel are the runner's own transactions, done ends. */
export const isRemote = (step: SagaStep) => step !== "confirm" && step !== "cancel" && step !== "done";

export const nextStep = (step: SagaStep): SagaStep => {
  const path = FORWARD.includes(step) ? FORWARD : COMPENSATION;
  return path[path.indexOf(step) + 1] ?? "done";
};

/** The service each remote step calls, for history lines that name it. */
const SERVICE: Partial<Record<SagaStep, string>> = { reserve: "inventory", commit: "inventory", release: "inventory", charge: "payments", refund: "payments", clear_cart: "cart" };

/**
 * What went wrong, in words fit for the order's history (the customer reads it): which service and how,
 * never a driver's or runtime's message. The raw error goes to the log (the runner logs `error`).
 */
export function whatFailed(step: SagaStep, error: unknown): string {
  const service = SERVICE[step] ?? "a service";
  const cause = rootCause(error);
  if (cause instanceof ServiceTokenError) return "the users service did not issue the order service's token";
  if (cause instanceof DeadlineExceededError) return `${service} did not answer in time`;
  if (cause instanceof CircuitOpenError) return `${service} is unavailable (its circuit breaker is open)`;
  if (cause instanceof UpstreamStatusError) return `${service} answered ${cause.status}`;
  if (cause instanceof UpstreamInvalidResponseError) return `${service} sent an answer that could not be used`;
  return `${service} could not be reached`;
}

const rawMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));
const lines = (items: OrderLine[]) => items.map(({ product_id, quantity }) => ({ product_id, quantity }));
const tooOld = (ctx: StepContext) => ctx.now() - ctx.order.created_at.getTime() > ctx.giveUpMs;

/** Runs one remote step; local steps (confirm, cancel) never reach here. */
export async function runStep(step: SagaStep, ctx: StepContext): Promise<StepOutcome> {
  const { order, clients } = ctx;
  try {
    switch (step) {
      case "reserve": {
        const answer = await clients.reserve(order.order_id, lines(ctx.items));
        if (answer.outcome === "reserved") return { kind: "succeeded", detail: answer.status === "committed" ? "already committed" : undefined, patch: { reservation_expires_at: answer.expiresAt } };
        if (answer.outcome === "out_of_stock") {
          const ids = answer.products.map((p) => p.product_id).join(", ");
          return { kind: "failed", code: "OUT_OF_STOCK", reason: `out of stock: product ${ids}`, details: { products: answer.products } };
        }
        return { kind: "failed", code: "RESERVATION_EXPIRED", reason: `the stock reservation was ${answer.status}` };
      }
      case "charge":
        return await charge(ctx);
      case "commit":
        if ((await clients.commit(order.order_id)) === "committed") return { kind: "succeeded" };
        return { kind: "failed", code: "RESERVATION_EXPIRED", reason: "the stock reservation ran out before the order was complete" };
      case "clear_cart": {
        const answer = await clients.clearCart(order.user_id, order.order_id, lines(ctx.items));
        // A refused clear leaves the customer's cart as it was: untidy, never wrong; the order goes on.
        return answer === "cleared" ? { kind: "succeeded" } : { kind: "skipped", detail: "the cart service refused to clear the cart" };
      }
      case "refund":
        return await refund(ctx);
      case "release":
        await clients.release(order.order_id);
        return { kind: "succeeded" };
      default:
        throw new Error(`step ${step} is not a remote step`);
    }
  } catch (error) {
    if (step === "charge") return resolveCharge(ctx, error);
    if (step === "clear_cart" && tooOld(ctx)) return { kind: "skipped", detail: `gave up clearing the cart: ${whatFailed(step, error)}` };
    if (step === "reserve" && tooOld(ctx)) return { kind: "failed", code: "UNAVAILABLE", reason: "the stock could not be reserved in time" };
    return { kind: "retry", detail: whatFailed(step, error), error: rawMessage(error) };
  }
}

async function charge(ctx: StepContext): Promise<StepOutcome> {
  const { order, clients } = ctx;
  // Resumed after a long outage: never charge for stock that is no longer held (inventory's sweeper may
  // already have released it). The refund compensation still asks payments, in case an earlier attempt did.
  if (order.reservation_expires_at && order.reservation_expires_at.getTime() - ctx.chargeMarginMs < ctx.now()) {
    return { kind: "failed", code: "RESERVATION_EXPIRED", reason: "the stock reservation ran out before payment" };
  }
  const answer = await clients.charge(order.order_id, order.total_cents, order.card_token);
  if (answer.outcome === "succeeded") return { kind: "succeeded", patch: { payment_id: answer.paymentId } };
  if (answer.outcome === "declined") return { kind: "failed", code: "PAYMENT_DECLINED", reason: `payment declined (${answer.reason})` };
  return { kind: "retry", detail: "payments is still processing the charge", afterMs: 500 };
}

/**
 * The charge call failed without an answer (timeout, 5xx, unreachable): it may or may not have charged. Ask
 * payments for the order's charges instead of guessing; while it cannot tell, try again later.
 */
async function resolveCharge(ctx: StepContext, error: unknown): Promise<StepOutcome> {
  let records;
  try {
    records = await ctx.clients.payments(ctx.order.order_id);
  } catch (asking) {
    return { kind: "retry", detail: `charge unresolved (${whatFailed("charge", error)}), and payments cannot say yet`, error: `${rawMessage(error)}; asking: ${rawMessage(asking)}` };
  }
  const charged = records.find((p) => p.status === "succeeded" || p.status === "refunded");
  if (charged) return { kind: "succeeded", detail: `resolved after "${whatFailed("charge", error)}": payment ${charged.payment_id} went through`, patch: { payment_id: charged.payment_id } };
  if (records.some((p) => p.status === "processing")) return { kind: "retry", detail: "payments is still processing the charge", afterMs: 500 };
  const declined = records.find((p) => p.status === "declined");
  if (declined) return { kind: "failed", code: "PAYMENT_DECLINED", reason: `payment declined (${declined.decline_reason ?? "declined"})` };
  // Payments has no record of it: nothing was charged. Charging again under the same key is safe.
  if (tooOld(ctx)) return { kind: "failed", code: "PAYMENT_FAILED", reason: "the payment could not be taken" };
  return { kind: "retry", detail: `charge failed, nothing was charged: ${whatFailed("charge", error)}`, error: rawMessage(error) };
}

async function refund(ctx: StepContext): Promise<StepOutcome> {
  const { order, clients } = ctx;
  if (!order.charge_attempted) return { kind: "skipped", detail: "nothing was charged" };
  // Asked every time, not taken from payment_id: a charge whose answer was lost must be found and refunded too.
  const records = await clients.payments(order.order_id);
  if (records.some((p) => p.status === "processing")) return { kind: "retry", detail: "a charge is still processing", afterMs: 500 };
  const toRefund = records.filter((p) => p.status === "succeeded");
  for (const record of toRefund) await clients.refund(record.payment_id);
  if (records.some((p) => p.status === "succeeded" || p.status === "refunded")) return { kind: "succeeded", detail: `refunded ${records.filter((p) => p.status !== "declined").map((p) => p.payment_id).join(", ")}` };
  return { kind: "skipped", detail: "nothing was charged" };
}
