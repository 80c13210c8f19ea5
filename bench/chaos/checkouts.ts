// The chaos run's checkout load: a few customers, each in a loop of its own, put one item in the cart and check
// out with a fresh Idempotency-Key and tok_visa, about once a second between them, while services are killed.
// Each behaves as a careful client: a 5xx, a timeout or 409 IDEMPOTENCY_IN_PROGRESS is asked again with the same
// key and body until an answer that ends it; a 202 is followed to its end; an out-of-stock item is taken out of
// the cart; every fourth confirmed order is cancelled by its customer. One checkout at a time per customer, so a
// pending order's lines are never bought twice.
import { randomUUID } from "node:crypto";
import { timedFetch, type Outcome, type Reply } from "./load.ts";

export type CheckoutOptions = {
  bffUrl: string;
  /** Customer ids and their access tokens, one loop each. */
  customers: { id: number; token: string }[];
  /** Checkouts per second, over all customers. */
  perSecond: number;
  /** New checkouts start for this long. */
  seconds: number;
  /** After that, open checkouts keep asking (and 202s keep being followed) for at most this long. */
  graceMs: number;
  /** The products bought, one per checkout, in turn. */
  products: number[];
  timeoutMs: number;
  /** Every n-th order a customer saw confirmed is cancelled by them. */
  cancelEvery: number;
};

/** One request of a checkout: when, and what came back (`code`: the error envelope's code, if any). */
export type Attempt = { sentMs: number; doneMs: number; outcome: Outcome; code: string | null };

export type CheckoutRecord = {
  customer: number;
  key: string;
  product: number;
  startedMs: number;
  /** Adding the item to the cart, until it was in (or the run ended). */
  cartAttempts: Attempt[];
  attempts: Attempt[];
  /** The answer that ended it ("201", "409 OUT_OF_STOCK", ...); null: none before the run ended. */
  answer: string | null;
  orderId: number | null;
  /** For a 202: the order's status when it was last read (confirmed, cancelled, or still pending). */
  followedTo: string | null;
  cancelAttempts: Attempt[];
  /** The cancel's ending answer ("200", "202", "409 NOT_CANCELLABLE"); null: not asked, or no answer. */
  cancelAnswer: string | null;
};

export type CheckoutLoad = { checkouts: CheckoutRecord[]; missedSlots: number };

const ADDRESS = { name: "Chaos Customer", line1: "1 Kill Street", city: "London", postal_code: "N1 9GU", country: "GB" };
const FINAL_ORDER = new Set(["confirmed", "cancelled", "shipped", "delivered"]);

/** Asked again with the same request: the outcome is not known yet, or the server says to wait. */
const retryable = (a: Attempt) => typeof a.outcome !== "number" || a.outcome >= 500 || a.outcome === 429 || a.code === "IDEMPOTENCY_IN_PROGRESS";

const label = (a: Attempt) => (a.code ? `${a.outcome} ${a.code}` : String(a.outcome));

function attemptOf(reply: Reply): { attempt: Attempt; body: any } {
  let body: any = null;
  try {
    body = reply.text ? JSON.parse(reply.text) : null;
  } catch {}
  const code = typeof body?.error?.code === "string" ? (body.error.code as string) : reply.error;
  return { attempt: { sentMs: reply.sentMs, doneMs: reply.doneMs, outcome: reply.outcome, code }, body };
}

/** Retry-After (seconds), between 0.5 and 2 s; 1 s without one. */
const pause = (reply: Reply) => Math.min(2000, Math.max(500, 1000 * Number(reply.headers?.get("retry-after") ?? 1) || 1000));

export async function runCheckouts(options: CheckoutOptions): Promise<CheckoutLoad> {
  const { bffUrl, customers, perSecond, seconds, graceMs, timeoutMs } = options;
  const start = performance.now();
  const newUntil = start + seconds * 1000;
  const askUntil = newUntil + graceMs;
  const checkouts: CheckoutRecord[] = [];
  let missedSlots = 0;
  let next = 0;

  /** Sends the request again (after a pause) while its outcome is unknown, until it ends or the run does. */
  async function ask(path: string, init: RequestInit, attempts: Attempt[]): Promise<{ attempt: Attempt; body: any } | null> {
    for (;;) {
      const reply = await timedFetch(`${bffUrl}${path}`, init, timeoutMs);
      const got = attemptOf(reply);
      attempts.push(got.attempt);
      if (!retryable(got.attempt)) return got;
      if (performance.now() + pause(reply) > askUntil) return null;
      await Bun.sleep(pause(reply));
    }
  }

  async function follow(record: CheckoutRecord, headers: Record<string, string>): Promise<void> {
    while (performance.now() < askUntil) {
      const reply = await timedFetch(`${bffUrl}/orders/${record.orderId}`, { headers }, timeoutMs);
      if (reply.outcome === 200) {
        record.followedTo = (JSON.parse(reply.text) as { status: string }).status;
        if (FINAL_ORDER.has(record.followedTo)) return;
      }
      await Bun.sleep(1000);
    }
  }

  async function once(customer: { id: number; token: string }, confirmedSoFar: number): Promise<boolean> {
    const auth = { authorization: `Bearer ${customer.token}` };
    const json = { ...auth, "content-type": "application/json" };
    const product = options.products[next++ % options.products.length]!;
    const record: CheckoutRecord = {
      customer: customer.id,
      key: randomUUID(),
      product,
      startedMs: performance.now(),
      cartAttempts: [],
      attempts: [],
      answer: null,
      orderId: null,
      followedTo: null,
      cancelAttempts: [],
      cancelAnswer: null,
    };
    checkouts.push(record);
    const added = await ask("/cart", { method: "POST", headers: json, body: JSON.stringify({ product_id: product, quantity: 1 }) }, record.cartAttempts);
    if (added?.attempt.outcome !== 200) return false;
    const body = JSON.stringify({ shipping_address: ADDRESS, card_token: "tok_visa" });
    const answered = await ask("/checkout", { method: "POST", headers: { ...json, "idempotency-key": record.key }, body }, record.attempts);
    if (!answered) return false;
    record.answer = label(answered.attempt);
    record.orderId = answered.body?.order_id ?? answered.body?.error?.order_id ?? null;
    if (answered.attempt.outcome === 202 && record.orderId !== null) await follow(record, auth);
    if (answered.attempt.code === "OUT_OF_STOCK") {
      // As a shopper would: take what cannot be had out of the cart before the next checkout.
      for (const p of (answered.body.error.products ?? []) as { product_id: number }[]) {
        await ask(`/cart/${p.product_id}`, { method: "DELETE", headers: auth }, []);
      }
    }
    const confirmed = answered.attempt.outcome === 201 || record.followedTo === "confirmed";
    if (confirmed && (confirmedSoFar + 1) % options.cancelEvery === 0) {
      const cancelled = await ask(`/orders/${record.orderId}/cancel`, { method: "POST", headers: auth }, record.cancelAttempts);
      record.cancelAnswer = cancelled ? label(cancelled.attempt) : null;
    }
    return confirmed;
  }

  const intervalMs = (1000 * customers.length) / perSecond;
  await Promise.all(
    customers.map(async (customer, j) => {
      let confirmed = 0;
      for (let slot = start + (j * 1000) / perSecond; slot < newUntil; ) {
        const wait = slot - performance.now();
        if (wait > 0) await Bun.sleep(wait);
        if (await once(customer, confirmed)) confirmed++;
        // The next slot not yet past: a checkout that took longer than its interval delays this customer only.
        const after = slot + intervalMs;
        slot = Math.max(after, slot + intervalMs * Math.ceil((performance.now() - slot) / intervalMs));
        missedSlots += Math.max(0, Math.ceil((Math.min(slot, newUntil) - after) / intervalMs));
      }
    }),
  );
  return { checkouts, missedSlots };
}
