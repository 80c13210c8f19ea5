// Stand-ins for the services the orders saga calls (inventory, payments, cart, products), kept in memory with
// the same idempotency the real ones have, so the saga's own logic can be tested against a real Postgres
// without the other processes. Each call can be made to fail or hang by the test.
import { DeadlineExceededError } from "@storefront/shared/deadline";
import type { CartLine, ChargeAnswer, OrdersClients, PaymentRecord, ReserveAnswer } from "../clients.ts";

type Fault = "timeout" | "error" | undefined;
export type FakeCall = keyof Omit<OrdersClients, "upstreams">;

export function createFakeClients(initial: { stock?: Record<number, number>; prices?: Record<number, number>; carts?: Record<number, CartLine[]> } = {}) {
  const stock = new Map(Object.entries(initial.stock ?? { 1: 10, 2: 10 }).map(([k, v]) => [Number(k), v]));
  const prices = new Map(Object.entries(initial.prices ?? { 1: 500, 2: 250 }).map(([k, v]) => [Number(k), v]));
  const carts = new Map(Object.entries(initial.carts ?? {}).map(([k, v]) => [Number(k), v]));
  const reservations = new Map<number, { status: string; items: CartLine[] }>();
  const payments = new Map<number, PaymentRecord[]>();
  const cleared = new Set<number>();
  /** Effects that happened, in order: what a test counts. */
  const effects: string[] = [];
  const calls: FakeCall[] = [];
  const faults = new Map<FakeCall, Fault[]>();
  /** What a charge does when the card is not special: "succeeded" unless set. */
  let chargeOutcome: "succeeded" | "declined" = "succeeded";
  /** A charge that takes effect at payments but whose answer is lost (the caller times out). */
  let loseNextChargeAnswer = false;

  const maybeFail = async (call: FakeCall) => {
    calls.push(call);
    const fault = faults.get(call)?.shift();
    if (fault === "timeout") throw new DeadlineExceededError(1000);
    if (fault === "error") throw new Error(`${call} unreachable`);
  };

  const clients: OrdersClients = {
    upstreams: [],
    async cart(userId) {
      await maybeFail("cart");
      return carts.get(userId) ?? [];
    },
    async prices(ids) {
      await maybeFail("prices");
      return new Map(ids.filter((id) => prices.has(id)).map((id) => [id, prices.get(id)!]));
    },
    async reserve(orderId, items): Promise<ReserveAnswer> {
      await maybeFail("reserve");
      const existing = reservations.get(orderId);
      if (existing) return existing.status === "active" || existing.status === "committed" ? { outcome: "reserved", status: existing.status, expiresAt: new Date(Date.now() + 60_000) } : { outcome: "gone", status: existing.status };
      const short = items.filter((i) => (stock.get(i.product_id) ?? 0) < i.quantity).map((i) => ({ product_id: i.product_id, requested: i.quantity, available: stock.get(i.product_id) ?? 0 }));
      if (short.length) return { outcome: "out_of_stock", products: short };
      for (const i of items) stock.set(i.product_id, stock.get(i.product_id)! - i.quantity);
      reservations.set(orderId, { status: "active", items });
      effects.push(`reserve ${orderId}`);
      return { outcome: "reserved", status: "active", expiresAt: new Date(Date.now() + 60_000) };
    },
    async commit(orderId) {
      await maybeFail("commit");
      const r = reservations.get(orderId);
      if (!r || (r.status !== "active" && r.status !== "committed")) return "expired";
      if (r.status === "active") effects.push(`commit ${orderId}`);
      r.status = "committed";
      return "committed";
    },
    async release(orderId) {
      await maybeFail("release");
      const r = reservations.get(orderId);
      if (!r) {
        reservations.set(orderId, { status: "released", items: [] });
        return;
      }
      if (r.status === "active" || r.status === "committed") {
        for (const i of r.items) stock.set(i.product_id, stock.get(i.product_id)! + i.quantity);
        effects.push(`release ${orderId}`);
        r.status = r.status === "active" ? "released" : "returned";
      }
    },
    async charge(orderId, _amount, card): Promise<ChargeAnswer> {
      const list = payments.get(orderId) ?? [];
      const existing = list[0];
      if (!existing) {
        const declined = card === "tok_decline" || chargeOutcome === "declined";
        // The effect happens before the fault, as a charge whose answer is lost would.
        const record: PaymentRecord = { payment_id: crypto.randomUUID(), status: declined ? "declined" : "succeeded", decline_reason: declined ? "card_declined" : null };
        if (!loseNextChargeAnswer) await maybeFail("charge");
        payments.set(orderId, [record]);
        if (!declined) effects.push(`charge ${orderId}`);
        if (loseNextChargeAnswer) {
          loseNextChargeAnswer = false;
          calls.push("charge");
          throw new DeadlineExceededError(1000);
        }
        return declined ? { outcome: "declined", reason: "card_declined" } : { outcome: "succeeded", paymentId: record.payment_id };
      }
      await maybeFail("charge");
      return existing.status === "declined" ? { outcome: "declined", reason: "card_declined" } : { outcome: "succeeded", paymentId: existing.payment_id };
    },
    async payments(orderId) {
      await maybeFail("payments");
      return (payments.get(orderId) ?? []).map((p) => ({ ...p }));
    },
    async refund(paymentId) {
      await maybeFail("refund");
      for (const list of payments.values()) {
        for (const p of list) {
          if (p.payment_id === paymentId && p.status === "succeeded") {
            p.status = "refunded";
            effects.push(`refund ${paymentId}`);
          }
        }
      }
    },
    async clearCart(userId, orderId) {
      await maybeFail("clearCart");
      if (!cleared.has(orderId)) {
        cleared.add(orderId);
        carts.set(userId, []);
        effects.push(`clear ${orderId}`);
      }
      return "cleared";
    },
  };

  return {
    clients,
    stock,
    carts,
    payments,
    reservations,
    effects,
    calls,
    /** The next calls of `call` fail as given, one fault per call. */
    fail(call: FakeCall, ...list: Fault[]) {
      faults.set(call, [...(faults.get(call) ?? []), ...list]);
    },
    declineCharges() {
      chargeOutcome = "declined";
    },
    loseNextChargeAnswer() {
      loseNextChargeAnswer = true;
    },
  };
}
