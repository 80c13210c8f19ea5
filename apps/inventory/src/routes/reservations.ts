// /reservations: the orders service's saga holds stock for an order (reserve), then sells it (commit) or gives
// it back (release); an active reservation nobody commits expires (reservation-sweeper.ts). Every route is for
// services and admins, checked before the path or body is looked at. Reserve and release are idempotent on
// the order id, so the saga can retry either after a timeout without taking or giving stock twice.
import { Hono } from "hono";
import type { Sql } from "postgres";
import { z } from "zod";
import { requireRole } from "@storefront/shared/auth/authenticate";
import { AppError } from "@storefront/shared/errors";
import type { OutboxWaker } from "@storefront/shared/outbox/write-event";
import { positiveInt, validate } from "@storefront/shared/validate";
import { commitReservation, findReservation, releaseReservation, reserve } from "../db/reservations.ts";

export const DEFAULT_RESERVATION_TTL_MS = 15 * 60_000;
export const MAX_RESERVATION_ITEMS = 100;
export const MAX_ITEM_QUANTITY = 999;

/** Order ids are the orders service's bigint ids: any positive integer a JSON number holds exactly. */
const orderId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const orderParams = z.strictObject({
  order_id: z
    .string()
    .regex(/^[1-9][0-9]{0,15}$/, "must be a positive integer")
    .transform(Number)
    .refine((n) => n <= Number.MAX_SAFE_INTEGER, "is too large"),
});

const reserveBody = z.strictObject({
  order_id: orderId,
  items: z
    .array(z.strictObject({ product_id: positiveInt, quantity: z.number().int().min(1).max(MAX_ITEM_QUANTITY) }))
    .min(1)
    .max(MAX_RESERVATION_ITEMS)
    .refine((items) => new Set(items.map((i) => i.product_id)).size === items.length, "each product_id at most once"),
});

const services = () => requireRole("service", "admin");

export const reservationRoutes = (sql: Sql, options: { ttlMs: number; outbox?: OutboxWaker }) =>
  new Hono()
    .post("/", services(), validate("json", reserveBody), async (c) => {
      const { order_id, items } = c.req.valid("json");
      const result = await reserve(sql, order_id, items, options.ttlMs);
      switch (result.outcome) {
        case "created":
          return c.json(result.reservation, 201);
        case "existing":
          return c.json(result.reservation, 200);
        case "other_items":
          throw new AppError(409, "CONFLICT", `order ${order_id} already has a reservation with other items`);
        case "short": {
          const ids = result.products.map((p) => p.product_id).join(", ");
          const what = result.products.length === 1 ? "product" : "products";
          throw new AppError(409, "OUT_OF_STOCK", `not enough stock for ${what} ${ids}; nothing was reserved`, { details: { products: result.products } });
        }
      }
    })
    .get("/:order_id", services(), validate("param", orderParams), async (c) => {
      const { order_id } = c.req.valid("param");
      const reservation = await findReservation(sql, order_id);
      if (!reservation) throw new AppError(404, "NOT_FOUND", `no reservation for order ${order_id}`);
      return c.json(reservation);
    })
    .post("/:order_id/commit", services(), validate("param", orderParams), async (c) => {
      const { order_id } = c.req.valid("param");
      const result = await commitReservation(sql, order_id);
      if (result.outcome === "not_found") throw new AppError(404, "NOT_FOUND", `no reservation for order ${order_id}`);
      if (result.outcome === "committed") return c.json({ order_id, status: "committed" });
      if (result.events > 0) options.outbox?.wake();
      throw new AppError(409, "RESERVATION_EXPIRED", `the reservation for order ${order_id} is ${result.status}; its stock is no longer held`, {
        details: { status: result.status },
      });
    })
    .post("/:order_id/release", services(), validate("param", orderParams), async (c) => {
      const { order_id } = c.req.valid("param");
      const { status, events } = await releaseReservation(sql, order_id);
      if (events > 0) options.outbox?.wake();
      return c.json({ order_id, status });
    });
