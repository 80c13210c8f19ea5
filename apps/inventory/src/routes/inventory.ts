// Stock levels: one product (/products/:id/inventory, read and set) and a batch read (/inventory?ids=...).
// Clients see the AVAILABLE count (on hand minus what reservations hold) as `inventory`; the one-product
// answers add `on_hand` and `reserved`. Setting the on-hand count below what is reserved is a 409. Taking a
// product's available count from 0 to more writes a stock.back_in_stock event in the same transaction.
// Reading is public; setting stock is for admins.
import { Hono } from "hono";
import type { Sql } from "postgres";
import { z } from "zod";
import { requireRole } from "@storefront/shared/auth/authenticate";
import { AppError } from "@storefront/shared/errors";
import { writeEvent, type OutboxWaker } from "@storefront/shared/outbox/write-event";
import { idParams, positiveIntString, validate, MAX_INT4 } from "@storefront/shared/validate";
import { getStock, listStock, setStock, type StockRow } from "../db/stock.ts";
import { underDeadline } from "@storefront/shared/deadline-propagation";

export const MAX_BATCH_IDS = 100;

const batchQuery = z.strictObject({
  ids: z
    .string()
    .transform((raw) => raw.split(","))
    .pipe(z.array(positiveIntString).min(1).max(MAX_BATCH_IDS, `at most ${MAX_BATCH_IDS} ids`)),
});

const stockBody = z.strictObject({ inventory: z.number().int().min(0).max(MAX_INT4) });

/** Rows in the order the ids were asked for, each id once; ids without a stock row are left out. */
const inRequestedOrder = (ids: readonly number[], rows: readonly StockRow[]) => {
  const byId = new Map(rows.map((row) => [row.product_id, row]));
  return [...new Set(ids)].flatMap((id) => byId.get(id) ?? []);
};

/** Mounted at "/": it answers both /products/:id/inventory and /inventory. */
export const inventoryRoutes = (sql: Sql, outbox?: OutboxWaker) =>
  new Hono()
    .get("/inventory", validate("query", batchQuery), async (c) => {
      const { ids } = c.req.valid("query");
      return c.json(inRequestedOrder(ids, await underDeadline(c, listStock(sql, [...new Set(ids)]))));
    })
    .get("/products/:id/inventory", validate("param", idParams), async (c) => {
      const { id } = c.req.valid("param");
      const stock = await getStock(sql, id);
      if (!stock) throw new AppError(404, "NOT_FOUND", `no stock for product ${id}`);
      return c.json(stock);
    })
    // The role first: a caller who may not set stock learns nothing from the validation of what they sent.
    .put("/products/:id/inventory", requireRole("admin"), validate("param", idParams), validate("json", stockBody), async (c) => {
      const { id } = c.req.valid("param");
      const { inventory } = c.req.valid("json");
      const result = await sql.begin(async (tx) => {
        const result = await setStock(tx, id, inventory);
        if ("belowReserved" in result) return result;
        const { stock, previousAvailable } = result;
        // Only a known product that was out of stock: a new product's first stock is nobody's awaited restock.
        const backInStock = previousAvailable === 0 && stock.inventory > 0;
        if (backInStock) await writeEvent(tx, { type: "stock.back_in_stock", payload: { product_id: id, inventory: stock.inventory } });
        return { stock, backInStock };
      });
      if ("belowReserved" in result) {
        throw new AppError(409, "CONFLICT", `product ${id} has ${result.belowReserved} reserved; on hand cannot go below that`);
      }
      if (result.backInStock) outbox?.wake();
      return c.json(result.stock);
    });
