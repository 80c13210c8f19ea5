// Checks the shapes of upstream answers the listing depends on.
import { UpstreamInvalidResponseError } from "@storefront/shared/upstream/errors";

export type CatalogueItem = { readonly product_id: number; readonly product_name: string; readonly price_cents: number };
export type ListedProduct = { product_id: number; product_name: string; price_cents: number; inventory: number | null };

const isId = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v > 0;
const isCents = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;

/** The products service's page, reduced to what the listing shows. */
export function toCatalogue(body: unknown): CatalogueItem[] {
  if (!Array.isArray(body)) throw new UpstreamInvalidResponseError("products", "expected an array");
  const out: CatalogueItem[] = new Array(body.length);
  for (let i = 0; i < body.length; i++) {
    const p = body[i] as { product_id?: unknown; product_name?: unknown; price_cents?: unknown } | null;
    if (!p || !isId(p.product_id) || typeof p.product_name !== "string" || !isCents(p.price_cents)) {
      throw new UpstreamInvalidResponseError("products", `item ${i} lacks product_id, product_name or price_cents`);
    }
    out[i] = { product_id: p.product_id, product_name: p.product_name, price_cents: p.price_cents };
  }
  return out;
}

/** cart and favorites answer a list of lines; the listing shows how many. */
export function countItems(upstream: string, body: unknown): number {
  if (!Array.isArray(body)) throw new UpstreamInvalidResponseError(upstream, "expected an array");
  return body.length;
}

/** Stock per product from a batch answer `[{product_id, inventory}]`. */
export function toStock(body: unknown): Map<number, number> {
  if (!Array.isArray(body)) throw new UpstreamInvalidResponseError("inventory", "expected an array");
  const stock = new Map<number, number>();
  for (const row of body as { product_id?: unknown; inventory?: unknown }[]) {
    if (!row || !isId(row.product_id) || typeof row.inventory !== "number" || !Number.isInteger(row.inventory) || row.inventory < 0) {
      throw new UpstreamInvalidResponseError("inventory", "item lacks product_id or a valid inventory");
    }
    stock.set(row.product_id, row.inventory);
  }
  return stock;
}
