// /users/:id/favorites: list, add (idempotent) and remove (idempotent) a user's favorite products. A customer's
// token reaches only their own favorites (admins and services any): checked first, before anything else.
import { Hono } from "hono";
import type { Sql } from "postgres";
import { z } from "zod";
import { requireSelf } from "@storefront/shared/auth/authenticate";
import { idParams, positiveInt, userProductParams, validate } from "@storefront/shared/validate";
import { addFavorite, listFavorites, removeFavorite } from "../db/favorites.ts";
import { underDeadline } from "@storefront/shared/deadline-propagation";

const addFavoriteBody = z.strictObject({ product_id: positiveInt });

export const favoritesRoutes = (sql: Sql) =>
  new Hono()
    .get("/:id/favorites", requireSelf(), validate("param", idParams), async (c) => {
      const { id } = c.req.valid("param");
      return c.json(await underDeadline(c, listFavorites(sql, id)));
    })
    .post("/:id/favorites", requireSelf(), validate("param", idParams), validate("json", addFavoriteBody), async (c) => {
      const { id } = c.req.valid("param");
      const { product_id } = c.req.valid("json");
      const { added } = await addFavorite(sql, id, product_id);
      // 201 only when this request created it, so a retried POST is told it changed nothing.
      return c.json({ product_id }, added ? 201 : 200);
    })
    .delete("/:id/favorites/:product_id", requireSelf(), validate("param", userProductParams), async (c) => {
      const { id, product_id } = c.req.valid("param");
      await removeFavorite(sql, id, product_id);
      return c.body(null, 204);
    });
