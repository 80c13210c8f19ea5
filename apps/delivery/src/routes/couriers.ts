// /couriers: the list of couriers for managers (role admin), and /couriers/me/... for a courier (role courier):
// the deliveries assigned to them, and marking one done. The caller's courier is the one linked to the token's
// user id; a courier token whose user is no courier is refused, and another courier's delivery reads as missing.
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import type { Sql } from "postgres";
import { identityOf, requireRole } from "@storefront/shared/auth/authenticate";
import { AppError } from "@storefront/shared/errors";
import type { OutboxWaker } from "@storefront/shared/outbox/write-event";
import { validate } from "@storefront/shared/validate";
import { courierOfUser, listCouriers, type Courier } from "../db/couriers.ts";
import { getDelivery } from "../db/delivery-views.ts";
import { moveDelivery } from "../db/deliveries.ts";
import { deliveryPage, invalidTransition, orderParams, pageQuery } from "./params.ts";

type CourierVariables = { courier: Courier };

/** Role courier, and a courier behind the token's user: checked before the path or query is looked at. */
const asCourier = (sql: Sql) =>
  createMiddleware<{ Variables: CourierVariables }>(async (c, next) => {
    const { userId, sub } = identityOf(c);
    const courier = userId === null ? null : await courierOfUser(sql, userId);
    if (!courier) throw new AppError(403, "FORBIDDEN", `user ${sub} is not a courier`);
    c.set("courier", courier);
    await next();
  });

export const couriersRoutes = (sql: Sql, outbox?: OutboxWaker) =>
  new Hono<{ Variables: CourierVariables }>()
    .get("/", requireRole("admin"), async (c) => c.json([...(await listCouriers(sql))]))
    .get("/me/deliveries", requireRole("courier"), asCourier(sql), validate("query", pageQuery), async (c) => {
      const { courier_id } = c.get("courier");
      return c.json(await deliveryPage(sql, { ...c.req.valid("query"), courierId: courier_id }));
    })
    .post("/me/deliveries/:order_id/done", requireRole("courier"), asCourier(sql), validate("param", orderParams), async (c) => {
      const { order_id } = c.req.valid("param");
      const { courier_id } = c.get("courier");
      const result = await sql.begin(async (tx) => {
        const moved = await moveDelivery(tx, order_id, { action: "complete", courier_id }, `courier ${courier_id}`);
        return moved.outcome === "applied" ? { ...moved, view: (await getDelivery(tx, order_id))! } : moved;
      });
      switch (result.outcome) {
        case "not_found":
          // Unknown, or not this courier's: the same answer, so a courier cannot learn which orders exist.
          throw new AppError(404, "NOT_FOUND", `no delivery for order ${order_id} among yours`);
        case "refused":
          return invalidTransition(c, order_id, result);
        case "applied":
          if (result.events > 0) outbox?.wake();
          return c.json(result.view, 200);
      }
    });
