// Checks the shapes of upstream answers the listing depends on, building the response objects in the same pass.
import { UpstreamInvalidResponseError } from "./upstream.ts";

export type ListedProduct = { product_id: number; product_name: string; inventory: number | null };

const isId = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v > 0;

export function toListedProducts(body: unknown): ListedProduct[] {
  if (!Array.isArray(body)) throw new UpstreamInvalidResponseError("products", "expected an array");
  const out: ListedProduct[] = new Array(body.length);
  for (let i = 0; i < body.length; i++) {
    const p = body[i] as { product_id?: unknown; product_name?: unknown } | null;
    if (!p || !isId(p.product_id) || typeof p.product_name !== "string") {
      throw new UpstreamInvalidResponseError("products", `item ${i} lacks product_id or product_name`);
    }
    out[i] = { product_id: p.product_id, product_name: p.product_name, inventory: null };
  }
  return out;
}

/** cart and favorites answer a list of lines; the listing shows how many. */
export function countItems(upstream: string, body: unknown): number {
  if (!Array.isArray(body)) throw new UpstreamInvalidResponseError(upstream, "expected an array");
  return body.length;
}

/** Fills `inventory` from a batch answer `[{product_id, inventory}]`; products it does not mention stay null. */
export function applyInventory(products: ListedProduct[], body: unknown): void {
  if (!Array.isArray(body)) throw new UpstreamInvalidResponseError("inventory", "expected an array");
  const stock = new Map<number, number>();
  for (const row of body as { product_id?: unknown; inventory?: unknown }[]) {
    if (!row || !isId(row.product_id) || typeof row.inventory !== "number" || !Number.isInteger(row.inventory) || row.inventory < 0) {
      throw new UpstreamInvalidResponseError("inventory", "item lacks product_id or a valid inventory");
    }
    stock.set(row.product_id, row.inventory);
  }
  for (const p of products) p.inventory = stock.get(p.product_id) ?? null;
}
