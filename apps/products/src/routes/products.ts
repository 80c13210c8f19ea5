// /products: the catalogue, keyset-paginated by product_id.
import { Hono } from "hono";
import type { Sql } from "postgres";
import { z } from "zod";
import { AppError } from "@storefront/shared/errors";
import { idParams, positiveIntString, validate } from "@storefront/shared/validate";
import { getProduct, listProducts } from "../db/products.ts";

export const MAX_PAGE = 100;

const listQuery = z.strictObject({
  limit: positiveIntString.refine((n) => n <= MAX_PAGE, `must be at most ${MAX_PAGE}`).optional(),
  after: z.union([z.literal("0"), positiveIntString]).transform(Number).optional(),
});

export const productsRoutes = (sql: Sql) =>
  new Hono()
    .get("/", validate("query", listQuery), async (c) => {
      const { limit = MAX_PAGE, after = 0 } = c.req.valid("query");
      return c.json(await listProducts(sql, { limit, after }));
    })
    .get("/:id", validate("param", idParams), async (c) => {
      const { id } = c.req.valid("param");
      const product = await getProduct(sql, id);
      if (!product) throw new AppError(404, "NOT_FOUND", `product ${id} not found`);
      return c.json(product);
    });
