// /users/:id/cart: list a user's cart, add to a line, set a line's quantity, remove a line.
import { Hono } from "hono";
import type { Sql } from "postgres";
import { z } from "zod";
import { AppError } from "@storefront/shared/errors";
import { idParams, positiveInt, userProductParams, validate } from "@storefront/shared/validate";
import { addToCart, listCart, MAX_LINE_QUANTITY, removeFromCart, setCartQuantity } from "../db/cart.ts";

const quantity = z.number().int().min(1).max(MAX_LINE_QUANTITY);
const addBody = z.strictObject({ product_id: positiveInt, quantity: quantity.default(1) });
const setBody = z.strictObject({ quantity });

export const cartRoutes = (sql: Sql) =>
  new Hono()
    .get("/:id/cart", validate("param", idParams), async (c) => {
      const { id } = c.req.valid("param");
      return c.json(await listCart(sql, id));
    })
    .post("/:id/cart", validate("param", idParams), validate("json", addBody), async (c) => {
      const { id } = c.req.valid("param");
      const { product_id, quantity } = c.req.valid("json");
      const line = await addToCart(sql, id, product_id, quantity);
      if (!line) throw new AppError(409, "CONFLICT", `adding ${quantity} of product ${product_id} would take the line above ${MAX_LINE_QUANTITY}`);
      return c.json(line);
    })
    .put("/:id/cart/:product_id", validate("param", userProductParams), validate("json", setBody), async (c) => {
      const { id, product_id } = c.req.valid("param");
      const { quantity } = c.req.valid("json");
      return c.json(await setCartQuantity(sql, id, product_id, quantity));
    })
    .delete("/:id/cart/:product_id", validate("param", userProductParams), async (c) => {
      const { id, product_id } = c.req.valid("param");
      await removeFromCart(sql, id, product_id);
      return c.body(null, 204);
    });
