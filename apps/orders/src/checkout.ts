// Placing an order under an Idempotency-Key: claim the key, read the cart and its prices (never from the
// client), create the order with its order.created event and the key's link to it in one transaction, drive
// the saga for up to CHECKOUT_WAIT_MS, and store the answer for the key. The same key with the same body gets
// that answer again (requests that arrive while the first runs wait for it); with another body, 422.
import { createHash } from "node:crypto";
import type { Sql } from "postgres";
import { AppError } from "@storefront/shared/errors";
import type { OrderLine, ShippingAddress } from "@storefront/shared/notifications/events";
import type { Logger } from "@storefront/shared/observability/logger";
import { writeEvent, type OutboxWaker } from "@storefront/shared/outbox/write-event";
import type { OrdersClients } from "./clients.ts";
import { claimKey, deleteClaim, getKey, linkOrder, storeAnswer, takeOverClaim, type StoredAnswer } from "./db/idempotency.ts";
import { getOrder, insertOrder, listItems, logStep, type OrderRow } from "./db/orders.ts";
import type { SagaRunner } from "./saga/runner.ts";

export type CheckoutRequest = { shipping_address: ShippingAddress; delivery_date?: string; card_token: string };

export type CheckoutDeps = {
  sql: Sql;
  clients: OrdersClients;
  runner: SagaRunner;
  logger: Logger;
  outbox?: OutboxWaker;
  /** How long a checkout waits for its saga before answering 202. */
  waitMs: number;
  sleep?: (ms: number) => Promise<unknown>;
};

/** Payments takes at most this much in one charge. */
export const MAX_ORDER_CENTS = 100_000_000;
/** Stored answers are replayed this long; after it the key is free again. */
export const KEY_RETENTION_HOURS = 24;

/** The body's fields in a fixed order, so the same request always hashes the same. */
export const requestHash = (body: CheckoutRequest) => {
  const { name, line1, city, postal_code, country } = body.shipping_address;
  const canonical = JSON.stringify([name, line1, city, postal_code, country, body.delivery_date ?? null, body.card_token]);
  return createHash("sha256").update(canonical).digest("hex");
};

/** What the checkout answers for an order in its current state (and what is stored for its key). */
export function answerFor(order: OrderRow, items: OrderLine[]): StoredAnswer {
  const { order_id } = order;
  if (order.status === "confirmed" || order.status === "shipped" || order.status === "delivered") {
    return { status: 201, body: { order_id, status: "confirmed", total_cents: order.total_cents, items } };
  }
  if (order.status !== "cancelled") return { status: 202, body: { order_id, status: "pending" } };
  const message = order.cancel_reason ?? "the order was cancelled";
  if (order.failure_code === "OUT_OF_STOCK") {
    return { status: 409, body: { error: { code: "OUT_OF_STOCK", message, order_id, products: order.failure_details?.products ?? [] } } };
  }
  if (order.failure_code === "PAYMENT_DECLINED") return { status: 402, body: { error: { code: "PAYMENT_DECLINED", message, order_id } } };
  return { status: 409, body: { error: { code: "ORDER_CANCELLED", message, order_id } } };
}

export function createCheckout(deps: CheckoutDeps) {
  const { sql, clients, runner, logger, outbox, waitMs } = deps;
  const sleep = deps.sleep ?? Bun.sleep;
  // A claim outlives the longest first request (its reads, the wait, storing the answer) by a wide margin;
  // past it, a crashed owner's key is taken over.
  const claimMs = waitMs + 10_000;
  // A request that finds the key claimed waits this long for the first answer, then answers 409.
  const duplicateWaitMs = waitMs + 2000;

  /** Drives the saga for at most waitMs, then the answer for the order as it then stands. */
  async function settle(orderId: number): Promise<StoredAnswer> {
    const until = Date.now() + waitMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([runner.run(orderId), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
    let order = (await getOrder(sql, orderId))!;
    // run() returns at once when another runner (another instance's sweeper) holds the saga: watch it instead.
    while ((order.status === "pending" || order.status === "cancelling") && Date.now() + 50 < until) {
      await sleep(50);
      order = (await getOrder(sql, orderId))!;
    }
    return answerFor(order, await listItems(sql, orderId));
  }

  /** The first request with the key: the order, or a refusal that wrote nothing (and frees the key). */
  async function place(userId: number, key: string, body: CheckoutRequest): Promise<StoredAnswer> {
    let orderId: number;
    try {
      orderId = await createOrder(userId, key, body);
    } catch (err) {
      // Nothing was created: the key is free again, so the client's retry is a first request.
      await deleteClaim(sql, userId, key);
      throw err;
    }
    await storeAnswer(sql, userId, key, await settle(orderId));
    return stored(userId, key);
  }

  /** The answer stored for the key: the first one, even when two requests computed one. */
  async function stored(userId: number, key: string): Promise<StoredAnswer> {
    const row = (await getKey(sql, userId, key))!;
    return { status: row.response_status!, body: row.response_body };
  }

  async function createOrder(userId: number, key: string, body: CheckoutRequest): Promise<number> {
    const lines = await upstream("cart", () => clients.cart(userId));
    if (lines.length === 0) throw new AppError(400, "CART_EMPTY", "the cart is empty: add something before checking out");
    const prices = await upstream("products", () => clients.prices(lines.map((l) => l.product_id)));
    const gone = lines.filter((l) => !prices.has(l.product_id)).map((l) => l.product_id);
    if (gone.length) throw new AppError(409, "CONFLICT", `no longer sold: product ${gone.join(", ")}; remove it from the cart`, { details: { product_ids: gone } });
    const items = lines.map((l) => ({ product_id: l.product_id, quantity: l.quantity, price_cents: prices.get(l.product_id)! }));
    const total_cents = items.reduce((sum, i) => sum + i.quantity * i.price_cents, 0);
    if (total_cents > MAX_ORDER_CENTS) throw new AppError(400, "BAD_REQUEST", `the order's total is above ${MAX_ORDER_CENTS / 100}: split it`);
    const delivery_date = body.delivery_date ?? null;
    const order = await sql.begin(async (tx) => {
      const order = await insertOrder(tx, { user_id: userId, total_cents, shipping_address: body.shipping_address, delivery_date, card_token: body.card_token, items });
      await logStep(tx, order.order_id, "placed", "succeeded", `${items.length} line(s), total ${total_cents}`);
      await logStep(tx, order.order_id, "reserve", "started");
      await writeEvent(tx, {
        type: "order.created",
        payload: { order_id: order.order_id, user_id: userId, total_cents, items, shipping_address: body.shipping_address, delivery_date },
      });
      await linkOrder(tx, userId, key, order.order_id);
      return order;
    });
    outbox?.wake();
    return order.order_id;
  }

  return async function checkout(userId: number, key: string, body: CheckoutRequest): Promise<StoredAnswer & { replayed: boolean }> {
    const hash = requestHash(body);
    const giveUpAt = Date.now() + duplicateWaitMs;
    for (;;) {
      if (await claimKey(sql, userId, key, hash, claimMs, KEY_RETENTION_HOURS)) return { ...(await place(userId, key, body)), replayed: false };
      const row = await getKey(sql, userId, key);
      if (!row) continue; // freed between the two statements: claim it
      if (row.request_hash !== hash) throw new AppError(422, "IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with a different request; use a new key for a new order");
      if (row.response_status !== null) return { status: row.response_status, body: row.response_body, replayed: true };
      if (row.order_id !== null && !row.claim_expired) {
        // Its order has ended (the first request may have died, or is about to answer the same): that is the answer.
        const order = await getOrder(sql, row.order_id);
        if (order && order.status !== "pending" && order.status !== "cancelling") {
          await storeAnswer(sql, userId, key, answerFor(order, await listItems(sql, row.order_id)));
          return { ...(await stored(userId, key)), replayed: true };
        }
      }
      if (row.claim_expired) {
        if (row.order_id !== null) {
          // The first request created the order and died before answering: answer from the order.
          await storeAnswer(sql, userId, key, await settle(row.order_id));
          return { ...(await stored(userId, key)), replayed: true };
        }
        if (await takeOverClaim(sql, userId, key, claimMs)) {
          logger.info("took over an abandoned checkout claim", { user_id: userId });
          return { ...(await place(userId, key, body)), replayed: false };
        }
        continue;
      }
      if (Date.now() >= giveUpAt) {
        throw new AppError(409, "IDEMPOTENCY_IN_PROGRESS", "a request with this Idempotency-Key is still being processed; retry shortly", { headers: { "retry-after": "1" } });
      }
      await sleep(25);
    }
  };
}

/** A read the order cannot be placed without; its failure is a 503 that wrote nothing. */
async function upstream<T>(name: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw new AppError(503, "UPSTREAM_UNAVAILABLE", `${name} is unavailable; nothing was ordered, try again`, { cause: err, headers: { "retry-after": "1" } });
  }
}
