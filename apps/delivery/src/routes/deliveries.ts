// /deliveries, for managers (role admin): list deliveries (keyset pages, optionally one status), read one, and
// give an activated delivery its courier. The role is checked before the path or body is looked at.
import { Hono } from "hono";
import type { Sql } from "postgres";
import { z } from "zod";
import { identityOf, requireRole } from "@storefront/shared/auth/authenticate";
import { AppError } from "@storefront/shared/errors";
import type { OutboxWaker } from "@storefront/shared/outbox/write-event";
import { positiveInt, validate } from "@storefront/shared/validate";
import { findCourier } from "../db/couriers.ts";
import { getDelivery } from "../db/delivery-views.ts";
import { moveDelivery } from "../db/deliveries.ts";
import { deliveryPage, invalidTransition, orderParams, pageQuery } from "./params.ts";

const assignBody = z.strictObject({ courier_id: positiveInt });

const admins = () => requireRole("admin");
const notFound = (orderId: number) => new AppError(404, "NOT_FOUND", `no delivery for order ${orderId}`);

export const deliveriesRoutes = (sql: Sql, outbox?: OutboxWaker) =>
  new Hono()
    .get("/", admins(), validate("query", pageQuery), async (c) => c.json(await deliveryPage(sql, c.req.valid("query"))))
    .get("/:order_id", admins(), validate("param", orderParams), async (c) => {
      const { order_id } = c.req.valid("param");
      const delivery = await getDelivery(sql, order_id);
      if (!delivery) throw notFound(order_id);
      return c.json(delivery);
    })
    .post("/:order_id/courier", admins(), validate("param", orderParams), validate("json", assignBody), async (c) => {
      const { order_id } = c.req.valid("param");
      const { courier_id } = c.req.valid("json");
      const identity = identityOf(c);
      const by = `admin user ${identity.userId ?? identity.sub}`;
      const result = await sql.begin(async (tx) => {
        const courier = await findCourier(tx, courier_id);
        if (!courier) return { outcome: "no_courier" as const };
        const moved = await moveDelivery(tx, order_id, { action: "assign", courier }, by);
        // Read in the same transaction: the answer is the delivery as this assignment left it.
        return moved.outcome === "applied" ? { ...moved, view: (await getDelivery(tx, order_id))! } : moved;
      });
      switch (result.outcome) {
        case "no_courier":
          throw new AppError(404, "NOT_FOUND", `no courier ${courier_id}`);
        case "not_found":
          throw notFound(order_id);
        case "refused":
          return invalidTransition(c, order_id, result);
        case "applied":
          if (result.events > 0) outbox?.wake();
          return c.json(result.view, 200);
      }
    });
