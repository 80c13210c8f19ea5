// /users/:id/orders: place an order (checkout, under an Idempotency-Key), list a user's orders, read one with
// its saga's history and its delivery, cancel one (refused once it shipped). A customer reaches only their own
// orders; another user's order is a 404.
import { Hono } from "hono";
import type { Sql } from "postgres";
import { z } from "zod";
import { requireSelf } from "@storefront/shared/auth/authenticate";
import { AppError } from "@storefront/shared/errors";
import { idParams, positiveIntString, validate } from "@storefront/shared/validate";
import { underDeadline } from "@storefront/shared/deadline-propagation";
import type { createCheckout } from "../checkout.ts";
import { deliveryView } from "../db/delivery.ts";
import { getUsersOrder, listHistory, listItems, listUsersOrders, type OrderRow } from "../db/orders.ts";
import { requestCancel } from "../db/saga.ts";
import type { SagaRunner } from "../saga/runner.ts";

export const MAX_PAGE = 100;
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

const text = (max: number) => z.string().trim().min(1, "must not be empty").max(max, `must be at most ${max} characters`);

/** "YYYY-MM-DD" that names a real day (2026-02-30 does not). */
export const calendarDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date as YYYY-MM-DD")
  .refine((s) => {
    const d = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
  }, "is not a calendar date");

export const checkoutBody = z.strictObject({
  shipping_address: z.strictObject({
    name: text(100),
    line1: text(200),
    city: text(100),
    postal_code: text(20),
    country: z.string().regex(/^[A-Z]{2}$/, "must be a two-letter country code (ISO 3166-1 alpha-2), e.g. DE"),
  }),
  delivery_date: calendarDate.optional(),
  card_token: z.string().min(1).max(64),
});

const orderParams = z.strictObject({ id: positiveIntString, order_id: positiveIntString });
const listQuery = z.strictObject({
  after: positiveIntString.optional(),
  limit: positiveIntString.refine((n) => n <= MAX_PAGE, `must be at most ${MAX_PAGE}`).optional(),
});

export type OrdersRoutesDeps = {
  sql: Sql;
  checkout: ReturnType<typeof createCheckout>;
  runner: SagaRunner;
  waitMs: number;
  now: () => number;
};

async function orderView(sql: Sql, order: OrderRow) {
  const [items, history] = await Promise.all([listItems(sql, order.order_id), listHistory(sql, order.order_id)]);
  return {
    order_id: order.order_id,
    status: order.status,
    total_cents: order.total_cents,
    items,
    shipping_address: order.shipping_address,
    delivery_date: order.delivery_date,
    cancel_reason: order.status === "cancelled" || order.status === "cancelling" ? order.cancel_reason : null,
    delivery: deliveryView(order),
    created_at: order.created_at,
    updated_at: order.updated_at,
    history,
  };
}

export const ordersRoutes = ({ sql, checkout, runner, waitMs, now }: OrdersRoutesDeps) => {
  /** A delivery date is today (UTC) or later, within a year. */
  const checkDeliveryDate = (date: string | undefined) => {
    if (!date) return;
    const today = new Date(now()).toISOString().slice(0, 10);
    const latest = new Date(now() + 365 * 86_400_000).toISOString().slice(0, 10);
    if (date < today || date > latest) throw new AppError(400, "BAD_REQUEST", `invalid json: delivery_date: must be between ${today} and ${latest}`);
  };

  const waitFor = async (orderId: number) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([runner.run(orderId), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  };

  return new Hono()
    .post("/:id/orders", requireSelf(), validate("param", idParams), async (c, next) => {
      const key = c.req.header("idempotency-key");
      if (key === undefined) throw new AppError(400, "BAD_REQUEST", "the Idempotency-Key header is required: a unique value per order, e.g. a UUID, sent again on a retry");
      if (!IDEMPOTENCY_KEY.test(key)) throw new AppError(400, "BAD_REQUEST", "Idempotency-Key must be 1 to 255 visible ASCII characters");
      await next();
    }, validate("json", checkoutBody), async (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      checkDeliveryDate(body.delivery_date);
      const answer = await checkout(id, c.req.header("idempotency-key")!, body);
      if (answer.replayed) c.header("idempotent-replayed", "true");
      const orderId = (answer.body as { order_id?: number }).order_id;
      if (answer.status === 202 && orderId) c.header("location", `/orders/${orderId}`);
      return c.json(answer.body as object, answer.status as 201);
    })
    .get("/:id/orders", requireSelf(), validate("param", idParams), validate("query", listQuery), async (c) => {
      const { id } = c.req.valid("param");
      const { after, limit = 20 } = c.req.valid("query");
      // One more than asked tells whether a next page exists.
      const rows = await underDeadline(c, listUsersOrders(sql, id, after ?? null, limit + 1));
      const orders = rows.slice(0, limit);
      return c.json({ orders, next_after: rows.length > limit ? orders.at(-1)!.order_id : null });
    })
    .get("/:id/orders/:order_id", requireSelf(), validate("param", orderParams), async (c) => {
      const { id, order_id } = c.req.valid("param");
      const order = await getUsersOrder(sql, id, order_id);
      if (!order) throw new AppError(404, "NOT_FOUND", `order ${order_id} not found`);
      return c.json(await orderView(sql, order));
    })
    .post("/:id/orders/:order_id/cancel", requireSelf(), validate("param", orderParams), async (c) => {
      const { id, order_id } = c.req.valid("param");
      const requested = await requestCancel(sql, id, order_id);
      if (!requested) {
        const order = await getUsersOrder(sql, id, order_id);
        if (!order) throw new AppError(404, "NOT_FOUND", `order ${order_id} not found`);
        if (order.status === "shipped" || order.status === "delivered") {
          throw new AppError(409, "NOT_CANCELLABLE", `order ${order_id} has ${order.status}; it can no longer be cancelled`);
        }
        // Already cancelled, or its compensations are running: cancelling again changes nothing.
      }
      await waitFor(order_id);
      const order = (await getUsersOrder(sql, id, order_id))!;
      return c.json(await orderView(sql, order), order.status === "cancelled" ? 200 : 202);
    });
};
