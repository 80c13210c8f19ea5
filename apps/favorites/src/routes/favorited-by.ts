// /products/:id/favorited-by: the users who favorited a product, keyset-paginated by user_id (the notifications
// worker pages through it to find recipients). An unknown product is simply favorited by nobody: [].
// Who likes what is private: only services (the worker) and admins may list it, checked before the query.
import { Hono } from "hono";
import type { Sql } from "postgres";
import { z } from "zod";
import { requireRole } from "@storefront/shared/auth/authenticate";
import { idParams, positiveIntString, validate } from "@storefront/shared/validate";
import { listFavoritedBy } from "../db/favorites.ts";
import { underDeadline } from "@storefront/shared/deadline-propagation";

export const MAX_FAVORITED_BY_PAGE = 1000;
export const DEFAULT_FAVORITED_BY_PAGE = 500;

const favoritedByQuery = z.strictObject({
  limit: positiveIntString.refine((n) => n <= MAX_FAVORITED_BY_PAGE, `must be at most ${MAX_FAVORITED_BY_PAGE}`).optional(),
  after: z.union([z.literal("0"), positiveIntString]).transform(Number).optional(),
});

export const favoritedByRoutes = (sql: Sql) =>
  new Hono().get("/:id/favorited-by", requireRole("service", "admin"), validate("param", idParams), validate("query", favoritedByQuery), async (c) => {
    const { id } = c.req.valid("param");
    const { limit = DEFAULT_FAVORITED_BY_PAGE, after = 0 } = c.req.valid("query");
    return c.json(await underDeadline(c, listFavoritedBy(sql, id, { after, limit })));
  });
