// /products: the catalogue, keyset-paginated by product_id (or given ids), and PATCH to edit a product. In the
// edit's transaction: product.changed whenever a field's value changed (the BFFs drop their cached pages on it),
// and price.dropped too for a lower price (it tells the product's watchers). Reading is public; editing is for admins.
import { Hono } from "hono";
import type { Sql } from "postgres";
import { z } from "zod";
import { requireRole } from "@storefront/shared/auth/authenticate";
import { AppError } from "@storefront/shared/errors";
import { writeEvent, type OutboxWaker } from "@storefront/shared/outbox/write-event";
import { idParams, positiveIntString, validate, MAX_INT4 } from "@storefront/shared/validate";
import { changedFields, getProduct, listProducts, listProductsByIds, updateProduct } from "../db/products.ts";
import { underDeadline } from "@storefront/shared/deadline-propagation";

export const MAX_PAGE = 100;
export const MAX_NAME_CHARS = 200;
export const MAX_DESCRIPTION_CHARS = 2000;

// Counted in characters (code points), as the table's length() check counts them, not in UTF-16 units.
const chars = (s: string) => [...s].length;

const patchBody = z
  .strictObject({
    price_cents: z.number().int().min(0).max(MAX_INT4).optional(),
    product_name: z
      .string()
      .refine((s) => chars(s) >= 1, "must not be empty")
      .refine((s) => chars(s) <= MAX_NAME_CHARS, `must be at most ${MAX_NAME_CHARS} characters`)
      .optional(),
    description: z.string().refine((s) => chars(s) <= MAX_DESCRIPTION_CHARS, `must be at most ${MAX_DESCRIPTION_CHARS} characters`).optional(),
  })
  .refine((body) => Object.keys(body).length > 0, "give at least one of price_cents, product_name, description");

const listQuery = z
  .strictObject({
    limit: positiveIntString.refine((n) => n <= MAX_PAGE, `must be at most ${MAX_PAGE}`).optional(),
    after: z.union([z.literal("0"), positiveIntString]).transform(Number).optional(),
    /** These products only (those that exist), instead of a page: e.g. the prices of a cart's lines. */
    ids: z
      .string()
      .transform((raw) => raw.split(","))
      .pipe(z.array(positiveIntString).min(1).max(MAX_PAGE, `at most ${MAX_PAGE} ids`))
      .optional(),
  })
  .refine((q) => !(q.ids && (q.after !== undefined || q.limit !== undefined)), "ids cannot be combined with after or limit");

export const productsRoutes = (sql: Sql, outbox?: OutboxWaker) =>
  new Hono()
    .get("/", validate("query", listQuery), async (c) => {
      const { limit = MAX_PAGE, after = 0, ids } = c.req.valid("query");
      if (ids) return c.json(await underDeadline(c, listProductsByIds(sql, [...new Set(ids)])));
      return c.json(await underDeadline(c, listProducts(sql, { limit, after })));
    })
    .get("/:id", validate("param", idParams), async (c) => {
      const { id } = c.req.valid("param");
      const product = await getProduct(sql, id);
      if (!product) throw new AppError(404, "NOT_FOUND", `product ${id} not found`);
      return c.json(product);
    })
    // The role first: a caller who may not edit learns nothing from the validation of what they sent.
    .patch("/:id", requireRole("admin"), validate("param", idParams), validate("json", patchBody), async (c) => {
      const { id } = c.req.valid("param");
      const changes = c.req.valid("json");
      const { product, wrote } = await sql.begin(async (tx) => {
        const updated = await updateProduct(tx, id, changes);
        if (!updated) throw new AppError(404, "NOT_FOUND", `product ${id} not found`);
        const { before, after } = updated;
        // Setting a field to the value it had changes nothing a cache holds: no event, nothing to drop.
        const changed = changedFields(before, after);
        if (changed.length > 0) await writeEvent(tx, { type: "product.changed", payload: { product_id: id, changed } });
        const dropped = after.price_cents < before.price_cents;
        if (dropped) {
          await writeEvent(tx, {
            type: "price.dropped",
            payload: { product_id: id, product_name: after.product_name, old_price_cents: before.price_cents, new_price_cents: after.price_cents },
          });
        }
        return { product: after, wrote: changed.length > 0 };
      });
      // After the commit: the BFFs hear of the change in milliseconds rather than at the relay's next poll.
      if (wrote) outbox?.wake();
      return c.json(product);
    });
