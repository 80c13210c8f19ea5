// The calls the orders service makes: the cart and its prices when an order is placed, then the saga's
// effects at inventory, payments and cart. Every call carries the service's own token (client credentials at
// the users service), runs under a deadline, through one breaker per upstream. A business answer (out of
// stock, declined, expired) is returned; anything that leaves the outcome unknown (a timeout, a 5xx, an open
// breaker, no answer) is thrown, for the saga to retry or resolve.
import { z } from "zod";
import type { ServiceCredentials } from "@storefront/shared/auth/service-credentials";
import { withServiceToken } from "@storefront/shared/auth/with-service-token";
import type { BreakerOptions } from "@storefront/shared/circuit-breaker";
import type { OrderLine } from "@storefront/shared/notifications/events";
import { createUpstreamClient, type FetchFn, type UpstreamClient, type UpstreamReply } from "@storefront/shared/upstream/client";
import { UpstreamInvalidResponseError, UpstreamStatusError } from "@storefront/shared/upstream/errors";

export type CartLine = { product_id: number; quantity: number };
export type ShortProduct = { product_id: number; requested: number; available: number };
export type PaymentRecord = { payment_id: string; status: "processing" | "succeeded" | "declined" | "refunded"; decline_reason?: string | null };

export type ReserveAnswer =
  | { outcome: "reserved"; status: "active" | "committed"; expiresAt: Date | null }
  | { outcome: "out_of_stock"; products: ShortProduct[] }
  /** The reservation exists but was released, expired or returned: it is never revived. */
  | { outcome: "gone"; status: string };
export type ChargeAnswer =
  | { outcome: "succeeded"; paymentId: string }
  | { outcome: "declined"; reason: string }
  /** Payments is still working on this key (or another key of this order): ask again later. */
  | { outcome: "in_progress" };

export type OrdersClients = {
  readonly upstreams: UpstreamClient[];
  cart(userId: number): Promise<CartLine[]>;
  /** price_cents by product_id, for the products that exist. */
  prices(productIds: number[]): Promise<Map<number, number>>;
  reserve(orderId: number, items: CartLine[]): Promise<ReserveAnswer>;
  commit(orderId: number): Promise<"committed" | "expired">;
  release(orderId: number): Promise<void>;
  charge(orderId: number, amountCents: number, cardToken: string): Promise<ChargeAnswer>;
  payments(orderId: number): Promise<PaymentRecord[]>;
  refund(paymentId: string): Promise<void>;
  clearCart(userId: number, orderId: number, items: CartLine[]): Promise<"cleared" | "refused">;
};

export type ClientsOptions = {
  urls: { cart: string; products: string; inventory: string; payments: string };
  credentials: ServiceCredentials;
  /** Each call's deadline (sent on as x-deadline-ms). */
  deadlineMs: number;
  breaker?: Omit<BreakerOptions, "name" | "isFailure">;
  fetch?: FetchFn;
};

/** The users service did not give us a service token (down, or refusing our secret): no call was made. */
export class ServiceTokenError extends Error {
  override name = "ServiceTokenError";
  constructor(cause: unknown) {
    super(`no service token from the users service: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** The key of an order's one charge: a retry of the same step can never charge twice. */
export const chargeKey = (orderId: number) => `order-${orderId}-charge`;

const cartLines = z.array(z.object({ product_id: z.number().int().positive(), quantity: z.number().int().positive() }));
const productPrices = z.array(z.object({ product_id: z.number().int().positive(), price_cents: z.number().int().min(0) }));
const reservation = z.object({ status: z.string(), expires_at: z.string().nullable().optional() });
const shortProducts = z.array(z.object({ product_id: z.number(), requested: z.number(), available: z.number() }));
const payment = z.object({
  payment_id: z.string(),
  status: z.enum(["processing", "succeeded", "declined", "refunded"]),
  decline_reason: z.string().nullable().optional(),
});

function parsed<T>(upstream: string, schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (!result.success) throw new UpstreamInvalidResponseError(upstream, result.error.message);
  return result.data;
}

const errorOf = (reply: UpstreamReply) => (reply.body as { error?: { code?: string; message?: string; [k: string]: unknown } } | null)?.error;

/** A 4xx nobody expected: the contract between the services is broken; it fails the call like a 5xx would. */
const unexpected = (upstream: string, reply: UpstreamReply) =>
  new UpstreamStatusError(upstream, reply.status, reply.body);

export function createOrdersClients(options: ClientsOptions): OrdersClients {
  const { deadlineMs } = options;
  // A failed token exchange is told apart from the service the call was for.
  const credentials: ServiceCredentials = {
    async headers(signal) {
      try {
        return await options.credentials.headers(signal);
      } catch (err) {
        throw new ServiceTokenError(err);
      }
    },
    invalidate: (rejected) => options.credentials.invalidate(rejected),
  };
  // No retries inside a call: the saga decides what a failed step means and when to try it again.
  const client = (name: string, url: string) => createUpstreamClient(name, url, { fetch: options.fetch, breaker: options.breaker, retry: null });
  const cart = client("cart", options.urls.cart);
  const products = client("products", options.urls.products);
  const inventory = client("inventory", options.urls.inventory);
  const payments = client("payments", options.urls.payments);

  const get = <T>(upstream: UpstreamClient, path: string, schema: z.ZodType<T>) =>
    withServiceToken(credentials, undefined, (headers) => upstream.getJson(path, { deadline: deadlineMs, headers }, (body) => parsed(upstream.name, schema, body)));
  const send = (upstream: UpstreamClient, method: string, path: string, json?: unknown, extra: Record<string, string> = {}) =>
    withServiceToken(credentials, undefined, (headers) => upstream.send(method, path, { deadline: deadlineMs, headers: { ...headers, ...extra }, json }));

  return {
    upstreams: [cart, products, inventory, payments],
    cart: (userId) => get(cart, `/users/${userId}/cart`, cartLines),
    async prices(productIds) {
      const rows = await get(products, `/products?ids=${productIds.join(",")}`, productPrices);
      return new Map(rows.map((row) => [row.product_id, row.price_cents]));
    },
    async reserve(orderId, items) {
      const reply = await send(inventory, "POST", "/reservations", { order_id: orderId, items });
      if (reply.status === 200 || reply.status === 201) {
        const { status, expires_at } = parsed("inventory", reservation, reply.body);
        if (status === "active" || status === "committed") return { outcome: "reserved", status, expiresAt: expires_at ? new Date(expires_at) : null };
        return { outcome: "gone", status };
      }
      const error = errorOf(reply);
      if (reply.status === 409 && error?.code === "OUT_OF_STOCK") return { outcome: "out_of_stock", products: parsed("inventory", shortProducts, error.products) };
      throw unexpected("inventory", reply);
    },
    async commit(orderId) {
      const reply = await send(inventory, "POST", `/reservations/${orderId}/commit`);
      if (reply.status === 200) return "committed";
      if (reply.status === 409 && errorOf(reply)?.code === "RESERVATION_EXPIRED") return "expired";
      throw unexpected("inventory", reply);
    },
    async release(orderId) {
      const reply = await send(inventory, "POST", `/reservations/${orderId}/release`);
      if (reply.status !== 200) throw unexpected("inventory", reply);
    },
    async charge(orderId, amountCents, cardToken) {
      const reply = await send(payments, "POST", "/payments", { order_id: orderId, amount_cents: amountCents, card_token: cardToken }, { "idempotency-key": chargeKey(orderId) });
      if (reply.status === 200 || reply.status === 201) return { outcome: "succeeded", paymentId: parsed("payments", payment, reply.body).payment_id };
      const error = errorOf(reply);
      if (reply.status === 402) return { outcome: "declined", reason: String(error?.decline_reason ?? error?.message ?? "declined") };
      // PAYMENT_IN_PROGRESS: our key is being processed; CONFLICT: another payment of this order exists.
      if (reply.status === 409) return { outcome: "in_progress" };
      throw unexpected("payments", reply);
    },
    payments: (orderId) => get(payments, `/payments?order_id=${orderId}`, z.array(payment)),
    async refund(paymentId) {
      const reply = await send(payments, "POST", `/payments/${paymentId}/refund`, {});
      // NOT_REFUNDABLE: a declined payment took nothing; nothing to give back.
      if (reply.status === 200 || (reply.status === 409 && errorOf(reply)?.code === "NOT_REFUNDABLE")) return;
      throw unexpected("payments", reply);
    },
    async clearCart(userId, orderId, items) {
      const reply = await send(cart, "POST", `/users/${userId}/cart/clear`, { order_id: orderId, items });
      if (reply.status === 200) return "cleared";
      if (reply.status >= 400 && reply.status < 500) return "refused";
      throw unexpected("cart", reply);
    },
  };
}
